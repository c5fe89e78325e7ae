"""Held-out evidence per surface form, from a gold-labelled dev set.

Training dynamics cannot see a *systematic* distant error: a gazetteer that
labels "The" as MISC in every sentence gives the model a consistent pattern it
learns early and confidently, so every such span gets a high AUM. A gold dev
set shows it at once: the pipeline trained on the distant labels (the dynamics
run) predicts "The" as MISC on dev, and gold never agrees. This module counts,
per (surface form, label), how the dynamics run's predictions on dev fare, and
turns that into flags for the training samples of the same form:

- a distant entity whose (text, label) the pipeline predicted on dev at least
  `min_predicted` times with precision at most `max_precision` (a form the
  distant labels taught wrongly) is a suspected false positive;
- a non-entity span whose text is a dev gold entity the pipeline missed in at
  least `min_missed_share` of its occurrences (a form the distant labels
  taught as non-entity) is a suspected missed entity.

The dev set's gold labels are evidence about *forms*, never copied into the
training data; the gold labels of the training sentences are never used.

Since format v2 the evidence also counts how often each dev gold entity's
text occurs in dev at all (`occurrences`), so that a decision can ask for
enough evidence: a text that dev gold labels once among 30 occurrences
("South" LOC, "Cup" MISC) is not a form the distant labels missed.
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from wasabi import msg

from spacy_dynclean.convert import read_docbin
from spacy_dynclean.outputs import Outputs
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.recording.samples import candidate_row, doc_id, gold_spans
from spacy_dynclean.util import DEFAULT_SPANS_KEY, DynCleanError, PathLike, read_json, write_json

Form = Tuple[str, str]
FORMAT = "spacy-dynclean.heldout.v2"
FORMATS = ("spacy-dynclean.heldout.v1", FORMAT)  # v1: no occurrence counts


@dataclass
class FormEvidence:
    """Per (text, label): dev predictions, correct ones, gold entities, missed
    ones; per gold entity text, its occurrences in dev (None: not counted,
    a v1 file)."""

    predicted: Counter = field(default_factory=Counter)
    correct: Counter = field(default_factory=Counter)
    gold: Counter = field(default_factory=Counter)
    missed: Counter = field(default_factory=Counter)
    docs: int = 0
    meta: Dict[str, Any] = field(default_factory=dict)
    occurrences: Optional[Counter] = None

    def add(self, predicted: Iterable[Tuple[int, int, str, str]], gold: Iterable[Tuple[int, int, str, str]]) -> None:
        """Count one doc: `(start, end, label, text)` of predicted and gold entities."""
        pred = {(s, e, lab): text for s, e, lab, text in predicted}
        ref = {(s, e, lab): text for s, e, lab, text in gold}
        for key, text in pred.items():
            self.predicted[(text, key[2])] += 1
            self.correct[(text, key[2])] += key in ref
        for key, text in ref.items():
            self.gold[(text, key[2])] += 1
            self.missed[(text, key[2])] += key not in pred
        self.docs += 1

    def count_occurrences(self, docs: Iterable[Doc]) -> None:
        """Count, in `docs` (the dev docs), every occurrence of each gold
        entity text as a token sequence, entity or not."""
        texts = {text for (text, _), n in self.gold.items() if n}
        self.occurrences = Counter()
        if not texts:
            return
        matches = text_matcher(texts)
        for doc in docs:
            for _, _, text in matches(doc):
                self.occurrences[text] += 1

    def entity_share(self, text: str, label: Optional[str] = None) -> float:
        """The share of the dev occurrences of `text` that are gold entities
        (with `label`, if given). Needs occurrence counts (format v2)."""
        if self.occurrences is None:
            raise DynCleanError("the held-out evidence has no dev occurrence counts (written by an older "
                                "version): run `heldout` again")
        n = self.occurrences[text]
        if label is None:
            gold = sum(c for (t, _), c in self.gold.items() if t == text)
        else:
            gold = self.gold[(text, label)]
        return min(1.0, gold / n) if n else 0.0

    def precision(self, form: Form) -> float:
        n = self.predicted[form]
        return self.correct[form] / n if n else 1.0

    def wrong_forms(self, min_predicted: int = 1, max_precision: float = 0.0) -> Set[Form]:
        """(text, label) pairs predicted at least `min_predicted` times at
        precision at most `max_precision`."""
        return {f for f, n in self.predicted.items() if n >= min_predicted and self.precision(f) <= max_precision}

    def missed_forms(self, min_missed: int = 1, min_missed_share: float = 0.5,
                     min_entity_share: float = 0.0) -> Set[str]:
        """Texts of dev gold entities missed at least `min_missed` times and in
        at least `min_missed_share` of their gold occurrences, and (if
        `min_entity_share` > 0) a gold entity in at least that share of all
        their dev occurrences."""
        out = {text for (text, _), n in self.missed.items()
               if n >= min_missed and n >= min_missed_share * self.gold[(text, _)]}
        if min_entity_share > 0:
            out = {text for text in out if self.entity_share(text) >= min_entity_share}
        return out

    def gold_label(self, text: str) -> Optional[str]:
        """The label dev gold gives `text` most often (None if never an entity there)."""
        counts = Counter({label: n for (t, label), n in self.gold.items() if t == text and n})
        return counts.most_common(1)[0][0] if counts else None

    def gold_labels(self, min_count: int = 1, min_entity_share: float = 0.0) -> Dict[str, str]:
        """The label dev gold gives each text it has as an entity at least
        `min_count` times with that label, in more than half of them, and (if
        `min_entity_share` > 0) in at least that share of all the text's dev
        occurrences."""
        by_text: Dict[str, Counter] = {}
        for (text, label), n in self.gold.items():
            if n:
                by_text.setdefault(text, Counter())[label] += n
        out = {}
        for text, c in by_text.items():
            label, n = c.most_common(1)[0]
            if n >= min_count and n > sum(c.values()) / 2 and (
                    min_entity_share <= 0 or self.entity_share(text, label) >= min_entity_share):
                out[text] = label
        return out

    def to_dict(self) -> Dict[str, Any]:
        rows = sorted(set(self.predicted) | set(self.gold))
        out: Dict[str, Any] = {
            "format": FORMAT if self.occurrences is not None else FORMATS[0], "docs": self.docs, "meta": self.meta,
            "forms": [[text, label, self.predicted[(text, label)], self.correct[(text, label)],
                       self.gold[(text, label)], self.missed[(text, label)]] for text, label in rows],
        }
        if self.occurrences is not None:
            out["occurrences"] = [[text, n] for text, n in sorted(self.occurrences.items())]
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "evidence") -> "FormEvidence":
        if not isinstance(data, dict) or data.get("format") not in FORMATS:
            raise DynCleanError(f"{where}: not a held-out evidence file (format {FORMAT!r} expected)")
        docs, forms, meta = data.get("docs", 0), data.get("forms", []), data.get("meta", {})
        if isinstance(docs, bool) or not isinstance(docs, int) or docs < 0 or not isinstance(forms, list) \
                or not isinstance(meta, dict):
            raise DynCleanError(f"{where}: 'docs' must be a count, 'forms' a list and 'meta' an object")
        out = cls(docs=docs, meta=dict(meta))
        for i, row in enumerate(forms):
            if (not isinstance(row, list) or len(row) != 6 or not all(isinstance(x, str) for x in row[:2])
                    or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in row[2:])):
                raise DynCleanError(f"{where}: form {i} must be [text, label, predicted, correct, gold, missed]")
            text, label, n_pred, n_corr, n_gold, n_missed = row
            if n_corr > n_pred or n_missed > n_gold:
                raise DynCleanError(
                    f"{where}: form {i} ({text!r}, {label}) has more correct/missed than predicted/gold")
            form = (text, label)
            out.predicted[form], out.correct[form], out.gold[form], out.missed[form] = n_pred, n_corr, n_gold, n_missed
        if data["format"] != FORMATS[0]:
            occurrences = data.get("occurrences")
            if not isinstance(occurrences, list):
                raise DynCleanError(f"{where}: 'occurrences' must be a list of [text, count]")
            out.occurrences = Counter()
            for i, row in enumerate(occurrences):
                if (not isinstance(row, list) or len(row) != 2 or not isinstance(row[0], str)
                        or not isinstance(row[1], int) or isinstance(row[1], bool) or row[1] < 0):
                    raise DynCleanError(f"{where}: occurrence {i} must be [text, count >= 0]")
                out.occurrences[row[0]] = row[1]
        return out

    def to_disk(self, path: PathLike) -> None:
        """Write the JSON to `path` (a temporary path of a transaction)."""
        write_json(path, self.to_dict())

    @classmethod
    def from_disk(cls, path: PathLike) -> "FormEvidence":
        return cls.from_dict(read_json(path, "held-out evidence file"), str(path))


def _entities(doc: Doc, spans_key: str) -> List[Tuple[int, int, str, str]]:
    return [(s.start, s.end, s.label_, s.text) for s in gold_spans(doc, spans_key)]


def collect_evidence(nlp: Language, dev_docs: List[Doc], *, spans_key: str = DEFAULT_SPANS_KEY,
                     batch_size: int = 64) -> FormEvidence:
    """Run `nlp` on the texts of the gold dev docs and count per form."""
    if not dev_docs:
        raise DynCleanError("the dev corpus is empty: no held-out evidence")
    evidence = FormEvidence()
    # Fresh docs in the pipeline's vocab: docs read with another vocab lack the
    # lexical attributes the model's features are computed from.
    texts = (Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]) for d in dev_docs)
    step = max(1, len(dev_docs) // 10)
    for i, (gold_doc, pred_doc) in enumerate(zip(dev_docs, nlp.pipe(texts, batch_size=batch_size))):
        predicted = [(e.start, e.end, e.label_, e.text) for e in pred_doc.ents]
        evidence.add(predicted, _entities(gold_doc, spans_key))
        if (i + 1) % step == 0:
            msg.text(f"  {i + 1:,} / {len(dev_docs):,} dev docs", show=True)
    evidence.count_occurrences(dev_docs)
    return evidence


def text_matcher(texts: Set[str], max_len: Optional[int] = None) -> Callable[[Doc], Iterator[Tuple[int, int, str]]]:
    """A function giving the (start, end, text) of every token sequence of a
    doc, at most `max_len` tokens long (None: no bound), whose text is in
    `texts` (without making Span objects). A sequence is extended only while
    its text is a prefix of one of `texts`, so tokens need not be separated
    by spaces ("EU-wide"). The prefixes are collected once, here, not per doc."""
    prefixes = {text[:k] for text in texts for k in range(1, len(text) + 1)}

    def matches(doc: Doc) -> Iterator[Tuple[int, int, str]]:
        words = [t.text for t in doc]
        with_ws = [t.text_with_ws for t in doc]
        longest = len(words) if max_len is None else max_len
        for i in range(len(words)):
            prefix = ""
            for end in range(i + 1, min(len(words), i + longest) + 1):
                text = prefix + words[end - 1]  # == doc[i:end].text
                if text not in prefixes:
                    break
                if text in texts:
                    yield i, end, text
                prefix += with_ws[end - 1]

    return matches


def flag_forms(
    dynamics: Dynamics, docs: List[Doc], evidence: FormEvidence, *,
    min_predicted: int = 1, max_precision: float = 0.0,
    negatives: bool = True, min_missed: int = 1, min_missed_share: float = 0.5, min_entity_share: float = 0.0,
) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Rows of the dynamics flagged by the held-out evidence: (positives, negatives)."""
    wrong = evidence.wrong_forms(min_predicted, max_precision)
    missed = evidence.missed_forms(min_missed, min_missed_share, min_entity_share) if negatives else set()
    n = len(dynamics)
    flag_pos = numpy.zeros(n, dtype=bool)
    flag_neg = numpy.zeros(n, dtype=bool)
    if not wrong and not missed:
        return flag_pos, flag_neg
    max_len = int(dynamics.meta.get("max_span_length", 8))
    labels = dynamics.labels
    by_id = {doc_id(d): d for d in docs}
    # positives: few, look each up
    for pos_row in numpy.nonzero(dynamics.positive & ~dynamics.threshold)[0]:
        doc = by_id[dynamics.doc_ids[int(dynamics.doc[pos_row])]]
        span = doc[int(dynamics.start[pos_row]) : int(dynamics.end[pos_row])]
        if (span.text, labels[int(dynamics.label[pos_row])]) in wrong:
            flag_pos[pos_row] = True
    if missed:
        # rows are grouped by doc (in doc_ids order), each doc's in suggester order
        bases = numpy.searchsorted(dynamics.doc, numpy.arange(len(dynamics.doc_ids)))
        matches = text_matcher(missed, max_len)
        for p, did in enumerate(dynamics.doc_ids):
            doc = by_id[did]
            for i, end, _ in matches(doc):
                row = int(bases[p]) + candidate_row(i, end, len(doc), max_len)
                if dynamics.doc[row] != p or dynamics.start[row] != i or dynamics.end[row] != end:
                    raise DynCleanError(f"dynamics rows of doc {did} are not in candidate order")
                flag_neg[row] = True
        flag_neg &= ~dynamics.positive & ~dynamics.threshold
    return flag_pos, flag_neg


def load_pipeline(model: PathLike) -> Language:
    """`spacy.load` with one line for a path that is not a trained pipeline."""
    import spacy

    path = Path(model)
    if not path.exists():
        raise DynCleanError(f"{model}: no such pipeline")
    if not path.is_dir() or not (path / "config.cfg").exists():
        raise DynCleanError(f"{model}: not a trained pipeline folder (no config.cfg): "
                            "give e.g. training/.../model-best")
    try:
        return spacy.load(path)
    except Exception as e:  # spaCy's own errors while loading: name the folder
        text = " ".join(str(e).split())[:200]
        raise DynCleanError(f"{model}: the pipeline does not load ({type(e).__name__}: {text})") from None


def run_heldout(model: PathLike, dev_path: PathLike, output_path: PathLike, *,
                spans_key: str = DEFAULT_SPANS_KEY, nlp: Optional[Language] = None) -> FormEvidence:
    """Evidence of the pipeline at `model` on the gold DocBin `dev_path`,
    written as JSON to `output_path`."""
    with Outputs([output_path], [model, dev_path]) as outputs:
        if nlp is None:
            nlp = load_pipeline(model)
        dev_docs = read_docbin(dev_path)
        if not dev_docs:
            raise DynCleanError(f"{dev_path}: empty corpus")
        evidence = collect_evidence(nlp, dev_docs, spans_key=spans_key)
        evidence.meta = {"model": str(model), "dev": str(dev_path)}
        evidence.to_disk(outputs.path(output_path))
    n_wrong = len(evidence.wrong_forms())
    msg.good(f"Wrote held-out evidence for {len(evidence.predicted):,} predicted and {len(evidence.gold):,} "
             f"gold forms of {evidence.docs:,} dev docs to {output_path} ({n_wrong} forms never right)")
    return evidence
