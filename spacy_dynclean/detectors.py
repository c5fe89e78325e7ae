"""Detectors: registered functions that read the evidence and say, for every
sample of the sample table, whether its distant label is suspect.

A detector is what a registered function returns: a callable taking the
`Evidence` and returning a `Suspicion` (flags and a score per sample, for
positives and negatives, and where it has one, a suggested label or span).
The registered function only binds and validates the settings of a plain
function, so each detector can be called and tested without a config.

    [detectors.aum]
    @misc = "spacy-dynclean.aum_detector.v1"
    negative_percentile = 75

A user's own detector is registered the same way (`@spacy.registry.misc`) and
picked up with `--code` or from a package's `spacy_misc` entry points.
"""
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.util import registry

from .evidence import Evidence
from .samples import gold_spans
from .scores import RANKINGS, compute_scores, resolve_k
from .thresholds import METHODS, Thresholds, from_fraction, from_mixture, from_threshold_samples
from .util import DynCleanError


@dataclass
class Proposals:
    """Suggested spans: `row` is the flagged sample a proposal would replace
    (-1: none, an addition), then the span and its label column (the
    non-entity column means "not an entity") and a confidence in 0..1."""

    row: numpy.ndarray
    doc: numpy.ndarray
    start: numpy.ndarray
    end: numpy.ndarray
    label: numpy.ndarray
    score: numpy.ndarray

    def __len__(self) -> int:
        return len(self.row)

    @classmethod
    def empty(cls) -> "Proposals":
        z = numpy.zeros(0, dtype="int64")
        return cls(z, z.copy(), z.copy(), z.copy(), z.copy(), numpy.zeros(0, dtype="float32"))

    @classmethod
    def from_rows(cls, rows: List[tuple]) -> "Proposals":
        """From (row, doc, start, end, label, score) tuples."""
        if not rows:
            return cls.empty()
        cols = list(zip(*rows))
        return cls(*(numpy.asarray(c, dtype="int64") for c in cols[:5]), numpy.asarray(cols[5], dtype="float32"))


@dataclass
class Suspicion:
    """One detector's view of every sample: `positive` flags distant entities
    suspected wrong, `negative` non-entity spans suspected to be missed
    entities; `score` is the suspicion (higher: more suspect; NaN: no
    opinion); `label` a suggested label column per sample (-1: none);
    `proposals` suggested spans; `abstained`: the detector found that its
    evidence says nothing about this corpus (a decision hands the kinds it
    flags to the other detectors)."""

    positive: numpy.ndarray
    negative: numpy.ndarray
    score: numpy.ndarray
    label: Optional[numpy.ndarray] = None
    proposals: Proposals = field(default_factory=Proposals.empty)
    details: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    abstained: bool = False

    @classmethod
    def none(cls, n: int) -> "Suspicion":
        return cls(numpy.zeros(n, dtype=bool), numpy.zeros(n, dtype=bool), numpy.full(n, numpy.nan, "float32"))

    def check(self, n: int) -> None:
        """Arrays of the sample table's length (a user's detector may err)."""
        if not isinstance(self, Suspicion):
            raise DynCleanError(f"returned {type(self).__name__}, not a Suspicion")
        for name in ("positive", "negative", "score", "label"):
            value = getattr(self, name)
            if value is not None and numpy.asarray(value).shape != (n,):
                raise DynCleanError(f"returned {name} of shape {numpy.asarray(value).shape}, expected ({n},)")


Detector = Callable[[Evidence], Suspicion]


# --- AUM with automatic thresholds -------------------------------------------------------------


def estimate_thresholds(evidence: Evidence, scores: numpy.ndarray, k: int, *, method: str, ranking: str,
                        positive_percentile: float, negative_percentile: float, per_label: bool,
                        positive_fraction: float, negative_fraction: float) -> Thresholds:
    """Thresholds by `method` (see `thresholds`)."""
    dynamics = evidence.samples
    if method == "threshold-samples":
        threshold = evidence.require("threshold_dynamics")
        if threshold.n_epochs < k:
            raise DynCleanError(
                f"k={k} epochs are averaged, but the threshold run ({evidence.paths.get('threshold_dynamics')}) "
                f"recorded {threshold.n_epochs}: train it for at least k epochs"
            )
        return from_threshold_samples(threshold, k=k, positive_percentile=positive_percentile,
                                      negative_percentile=negative_percentile, per_label=per_label, ranking=ranking)
    if method == "mixture":
        return from_mixture(scores, dynamics.positive, dynamics.candidates)
    return from_fraction(scores, dynamics.positive, dynamics.candidates, positive_fraction=positive_fraction,
                         negative_fraction=negative_fraction)


def aum_suspicion(evidence: Evidence, *, method: str = "threshold-samples", ranking: str = "aum",
                  k: Union[int, str, None] = "auto", positive_percentile: float = 100.0,
                  negative_percentile: float = 75.0, per_label: bool = False, positive_fraction: float = 0.0,
                  negative_fraction: float = 0.0) -> Suspicion:
    """Samples whose score over the first k epochs (AUM by default) lies
    below their kind's threshold (AUM, Pleiss et al. 2020; DynClean)."""
    dynamics = evidence.require("dynamics")
    check_k(k, dynamics.n_epochs, evidence.paths.get("dynamics"))
    k_used = resolve_k(dynamics, k)
    scores = compute_scores(dynamics, k_used).ranking(ranking)
    thresholds = estimate_thresholds(
        evidence, scores, k_used, method=method, ranking=ranking, positive_percentile=positive_percentile,
        negative_percentile=negative_percentile, per_label=per_label, positive_fraction=positive_fraction,
        negative_fraction=negative_fraction,
    )
    n_labels = len(dynamics.labels)
    candidate = dynamics.candidates
    positive = dynamics.positive
    pos_thr = thresholds.for_positives(dynamics.labels, numpy.minimum(dynamics.label, n_labels - 1))
    return Suspicion(
        positive=candidate & positive & (scores < pos_thr),
        negative=candidate & ~positive & (scores < thresholds.negative),
        score=(-scores).astype("float32"),
        details={"k": k_used, "ranking": ranking, "thresholds": thresholds.to_dict()},
    )


def check_k(k: Union[int, str, None], recorded: int, where: Optional[str]) -> None:
    """A k beyond the recorded epochs is an error, not silently reduced."""
    if isinstance(k, int) and not isinstance(k, bool) and k > recorded:
        raise DynCleanError(f"k={k}, but {where} recorded {recorded} epochs: lower k or record longer")


def validate_k(k: Union[int, str, None]) -> Union[int, str, None]:
    if k == "auto" or k is None or (isinstance(k, int) and not isinstance(k, bool) and k >= 0):
        return k
    raise DynCleanError(f"k must be 'auto', 0 (all epochs) or a positive number, not {k!r}")


def check_range(name: str, value: Any, low: float, high: float) -> None:
    """A number in low..high, or an error naming the setting."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not low <= value <= high:
        raise DynCleanError(f"{name} must be a number in {low:g}..{high:g}, not {value!r}")


@registry.misc("spacy-dynclean.aum_detector.v1")
def aum_detector(method: str = "threshold-samples", ranking: str = "aum", k: Union[int, str, None] = "auto",
                 positive_percentile: float = 100.0, negative_percentile: float = 75.0, per_label: bool = False,
                 positive_fraction: float = 0.0, negative_fraction: float = 0.0) -> Detector:
    """AUM of the recording run against thresholds from the threshold-sample
    run (`method = "threshold-samples"`: the given percentile of the threshold
    samples of each kind), a two-Gaussian mixture, or a fixed fraction."""
    if method not in METHODS:
        raise DynCleanError(f"method must be one of {METHODS}, not {method!r}")
    if ranking not in RANKINGS:
        raise DynCleanError(f"ranking must be one of {RANKINGS}, not {ranking!r}")
    for name, value, high in (("positive_percentile", positive_percentile, 100), ("negative_percentile",
                              negative_percentile, 100), ("positive_fraction", positive_fraction, 1),
                              ("negative_fraction", negative_fraction, 1)):
        check_range(name, value, 0, high)
    return partial(aum_suspicion, method=method, ranking=ranking, k=validate_k(k),
                   positive_percentile=positive_percentile, negative_percentile=negative_percentile,
                   per_label=per_label, positive_fraction=positive_fraction, negative_fraction=negative_fraction)


# --- held-out evidence of a gold dev set --------------------------------------------------------


def heldout_suspicion(evidence: Evidence, *, min_predicted: int = 1, max_precision: float = 0.0,
                      negatives: bool = True, min_missed_share: float = 0.5, min_count: int = 1,
                      min_entity_share: float = 0.0) -> Suspicion:
    """Distant entities whose (text, label) the recording run's pipeline
    predicted on a gold dev set and never got right, and non-entity spans
    whose text is a dev entity it missed (see `heldout`). Suggests the label
    dev gold gives the text: a re-type or an addition, or non-entity for a
    flagged entity whose text is never a dev gold entity. With
    `min_entity_share` > 0, a missed text is flagged and a label suggested
    only where dev gold has the text as an entity (with that label) in at
    least that share of its dev occurrences: one gold "Cup" among 30 is not
    evidence that every "Cup" is an entity."""
    from .heldout import flag_forms

    forms = evidence.require("heldout")
    if min_entity_share > 0 and forms.occurrences is None:
        raise DynCleanError(f"{evidence.paths.get('heldout')}: the held-out evidence has no dev occurrence counts "
                            "(written by an older version; min_entity_share needs them): run `heldout` again "
                            "(in a project: `spacy project run heldout --force`)")
    samples = evidence.samples
    pos, neg = flag_forms(samples, evidence.docs, forms, min_predicted=min_predicted, max_precision=max_precision,
                          negatives=negatives, min_missed_share=min_missed_share, min_entity_share=min_entity_share)
    # suggestions: the label dev gold gives the text (a re-type, an addition, or non-entity when dev gold
    # never has the text as an entity but the distant label does)
    docs = evidence.docs_by_position()
    gold_of = forms.gold_labels(min_count, min_entity_share)
    labels, n_labels = samples.labels, len(samples.labels)
    rows = []
    for row in numpy.nonzero(pos | neg)[0].tolist():
        text = docs[int(samples.doc[row])][int(samples.start[row]): int(samples.end[row])].text
        gold = gold_of.get(text)
        label = labels.index(gold) if gold in labels else (n_labels if pos[row] and gold is None else -1)
        if label >= 0 and label != int(samples.label[row]):
            rows.append((row if pos[row] else -1, int(samples.doc[row]), int(samples.start[row]),
                         int(samples.end[row]), label, 1.0))
    return Suspicion(
        positive=pos, negative=neg, score=numpy.where(pos | neg, 1.0, numpy.nan).astype("float32"),
        proposals=Proposals.from_rows(rows),
        details={"dev_docs": forms.docs, "evidence": forms.meta,
                 "wrong_forms": len(forms.wrong_forms(min_predicted, max_precision)),
                 "missed_forms": len(forms.missed_forms(min_missed_share=min_missed_share)) if negatives else 0},
    )


@registry.misc("spacy-dynclean.heldout_forms.v1")
def heldout_forms(min_predicted: int = 1, max_precision: float = 0.0, negatives: bool = True,
                  min_missed_share: float = 0.5) -> Detector:
    """Systematic errors by surface form, from the recording run's
    predictions on a gold dev set (`python -m spacy_dynclean heldout`)."""
    if isinstance(min_predicted, bool) or not isinstance(min_predicted, int) or min_predicted < 1:
        raise DynCleanError(f"min_predicted must be a whole number >= 1, not {min_predicted!r}")
    check_range("max_precision", max_precision, 0, 1)
    check_range("min_missed_share", min_missed_share, 0, 1)
    return partial(heldout_suspicion, min_predicted=min_predicted, max_precision=max_precision,
                   negatives=bool(negatives), min_missed_share=min_missed_share)


@registry.misc("spacy-dynclean.heldout_forms.v2")
def heldout_forms_v2(min_predicted: int = 1, max_precision: float = 0.0, negatives: bool = True,
                     min_missed_share: float = 0.5, min_entity_share: float = 0.5) -> Detector:
    """v1, asking for enough dev evidence before a text is called a missed
    entity or given a label: dev gold has it as an entity (with that label)
    in at least `min_entity_share` of its dev occurrences. Needs evidence
    written by `heldout` of this version (it counts the occurrences)."""
    check_range("min_entity_share", min_entity_share, 0, 1)
    detector = heldout_forms(min_predicted, max_precision, negatives, min_missed_share)
    return partial(detector, min_entity_share=min_entity_share)


# --- the structure of the text (gold-free) -------------------------------------------------------


def doc_row_bases(samples) -> numpy.ndarray:
    """First sample row of each doc (rows are grouped by doc, in candidate order)."""
    return numpy.searchsorted(samples.doc, numpy.arange(len(samples.doc_ids)))


def corpus_labels(evidence: Evidence) -> Dict[str, int]:
    """The majority distant label column of each entity text in the corpus
    (over the occurrences that carry a label: distant labels miss a text in
    many of its occurrences, and where they label it, the label is the
    evidence)."""
    samples = evidence.samples

    def make() -> Dict[str, int]:
        docs = evidence.docs_by_position()
        votes: Dict[str, Counter] = {}
        for row in numpy.nonzero(samples.positive & ~samples.threshold)[0]:
            text = docs[int(samples.doc[row])][int(samples.start[row]): int(samples.end[row])].text
            votes.setdefault(text, Counter())[int(samples.label[row])] += 1
        return {text: c.most_common(1)[0][0] for text, c in votes.items()}

    return evidence.cached("corpus_labels", make)


def labelled_extension(doc: Any, start: int, end: int, blocked: List[bool], labels_of: Dict[str, int],
                       max_len: int) -> tuple:
    """The longest span around [start, end) that adds only capitalized words no
    other entity holds and whose text the corpus labels as an entity
    elsewhere; (start, end) when there is none."""
    words = [t.text for t in doc]

    def ok(i: int) -> bool:
        return words[i][:1].isupper() and not blocked[i]

    lefts = [start]
    while lefts[-1] > 0 and ok(lefts[-1] - 1) and end - lefts[-1] < max_len:
        lefts.append(lefts[-1] - 1)
    rights = [end]
    while rights[-1] < len(words) and ok(rights[-1]) and rights[-1] - start < max_len:
        rights.append(rights[-1] + 1)
    best = (start, end)
    for left in lefts:
        for right in rights:
            if (left, right) != (start, end) and right - left <= max_len and doc[left:right].text in labels_of \
                    and right - left > best[1] - best[0]:
                best = (left, right)
    return best


def loose_edge_trim(words: Sequence[str]) -> Tuple[int, int]:
    """(left, right) counts of words to trim from the edges of an entity: a
    name neither starts nor ends with a lower-case word ("European Union and",
    "Banco de") or ends with a possessive clitic ("News Corp 's"); (0, 0)
    when nothing is loose or nothing would remain. (Punctuation is no cue:
    a quoted title keeps its quotes.)"""
    def loose(w: str, left: bool) -> bool:
        return (w[:1].isalpha() and w.islower()) or (not left and w in ("'s", "'"))

    left, right = 0, len(words)
    while left < right and loose(words[left], True):
        left += 1
    while right > left and loose(words[right - 1], False):
        right -= 1
    if left == right:
        return 0, 0
    return left, len(words) - right


def name_structure_suspicion(evidence: Evidence, *, confidence: float = 0.9, positives: bool = True,
                             negatives: bool = True, edges: bool = False,
                             collocations: bool = False, title_case: bool = False) -> Suspicion:
    """Partial matches, common words and unlabelled names, from the casing of
    the corpus (see `structure`). Suggests the whole name run for a partial
    match and the run for an unlabelled name (typed by the corpus's majority
    distant label of that text, where it has one; else -1), and non-entity
    for a common word. With `edges`, a multi-word entity with loose edges
    (`loose_edge_trim`) is flagged too, suggesting the trimmed span with the
    same label; with `collocations`, a common word the corpus capitalizes
    beside a name is part of it (`structure.CollocationStats`); with
    `title_case`, the entities of sentences in title case are judged too, by
    the common words alone (their unlabelled runs are not: a heading's
    capitalized words are not names for that)."""
    from .samples import candidate_row
    from .structure import (CasingStats, CollocationStats, extend, free_runs, has_case_information, is_title_case,
                            name_mask)

    samples = evidence.samples
    docs = evidence.docs_by_position()
    words_of = [[t.text for t in doc] for doc in docs]
    stats = evidence.cached("casing", lambda: CasingStats.from_sentences(words_of))
    common = stats.common_words(confidence)
    pairs = evidence.cached("collocations", lambda: CollocationStats.from_sentences(words_of)) \
        if collocations else None
    labels_of = corpus_labels(evidence)
    n, n_labels, max_len = len(samples), len(samples.labels), evidence.max_span_length
    flag_pos = numpy.zeros(n, dtype=bool)
    flag_neg = numpy.zeros(n, dtype=bool)
    score = numpy.full(n, numpy.nan, dtype="float32")
    proposals: List[tuple] = []
    bases = doc_row_bases(samples)
    by_doc: Dict[int, List[int]] = {}
    for row in numpy.nonzero(samples.positive & samples.candidates)[0]:
        by_doc.setdefault(int(samples.doc[row]), []).append(int(row))
    counts: Counter = Counter()
    # the distant entities say whether this corpus marks names by case at all
    starts = [words_of[int(samples.doc[r])][int(samples.start[r])] for r in numpy.nonzero(samples.positive)[0]]
    starts = [w for w in starts if w[:1].isalpha()]
    if not starts or sum(w[:1].isupper() for w in starts) <= len(starts) / 2:
        return Suspicion(flag_pos, flag_neg, score, details={"confidence": confidence, "names_capitalized": False},
                         warnings=["most distant entities do not start with a capital: this corpus does not mark "
                                   "names by case, so the name structure flags nothing"], abstained=True)
    for p, words in enumerate(words_of):
        informative = has_case_information(words)
        if not informative and not (title_case and is_title_case(words)):
            continue  # a capital says nothing here
        is_name = name_mask(words, common, pairs, title_case=title_case)
        base, n_tok = int(bases[p]), len(words)
        covered = [False] * n_tok
        for ent in gold_spans(docs[p], samples.spans_key):  # entities too long to be samples block too
            for t in range(ent.start, ent.end):
                covered[t] = True
        if positives:
            for row in by_doc.get(p, []):
                score[row] = 0.0  # judged: a sentence with case information
                s, e = int(samples.start[row]), int(samples.end[row])
                others = [c and not s <= t < e for t, c in enumerate(covered)]
                start, end = extend(s, e, is_name, others)
                alpha = [w for w in words[s:e] if w[:1].isalpha()]
                if (start, end) == (s, e) or end - start > max_len:
                    # a longer span of capitalized words around it that the corpus labels elsewhere
                    # ("New York" LOC around "York" PER, though "new" is a common word)
                    start, end = labelled_extension(docs[p], s, e, others, labels_of, max_len)
                if (start, end) != (s, e):
                    kind, suggestion = "partial_matches", (start, end, labels_of.get(docs[p][start:end].text, -1))
                elif alpha and all(w in common for w in alpha):
                    kind, suggestion = "common_words", (s, e, n_labels)
                elif edges and e - s > 1 and (trim := loose_edge_trim(words[s:e])) != (0, 0):
                    left, right = trim
                    kind, suggestion = "loose_edges", (s + left, e - right, int(samples.label[row]))
                else:
                    continue
                flag_pos[row] = True
                score[row] = 1.0
                proposals.append((row, p, *suggestion, 1.0))
                counts[kind] += 1
                if kind == "partial_matches" and negatives and informative:  # the whole run is a missed entity too
                    run_row = base + candidate_row(start, end, n_tok, max_len)
                    flag_neg[run_row] = True
                    score[run_row] = 1.0
        if negatives and informative:
            for start, end in free_runs(is_name, covered):
                if end - start > max_len:
                    continue
                row = base + candidate_row(start, end, n_tok, max_len)
                if samples.candidates[row] and not samples.positive[row]:
                    flag_neg[row] = True
                    score[row] = 1.0
                    proposals.append((-1, p, start, end, labels_of.get(docs[p][start:end].text, -1), 1.0))
                    counts["unlabelled_names"] += 1
    warnings = []
    if stats.sentences_with_case < stats.sentences / 2:
        warnings.append(f"only {stats.sentences_with_case:,} of {stats.sentences:,} sentences carry case "
                        "information: the name structure says little about this corpus")
    return Suspicion(
        positive=flag_pos, negative=flag_neg, score=score, proposals=Proposals.from_rows(proposals),
        details={"confidence": confidence, **counts, "sentences": stats.sentences,
                 "sentences_with_case_information": stats.sentences_with_case},
        warnings=warnings,
    )


@registry.misc("spacy-dynclean.name_structure.v1")
def name_structure(confidence: float = 0.9, positives: bool = True, negatives: bool = True) -> Detector:
    """Gold-free: flags distant entities strictly inside a longer run of
    capitalized names (partial matches) or made of words the corpus mostly
    writes in lower case (spurious), and unlabelled name runs (missed
    entities); `confidence`: how sure the corpus must be that a word is common."""
    check_range("confidence", confidence, 0.5, 1)
    return partial(name_structure_suspicion, confidence=confidence, positives=bool(positives),
                   negatives=bool(negatives))


@registry.misc("spacy-dynclean.name_structure.v2")
def name_structure_v2(confidence: float = 0.9, positives: bool = True, negatives: bool = True,
                      edges: bool = True, collocations: bool = True) -> Detector:
    """As v1, and with `edges` also flags a multi-word distant entity with
    loose edges: a lower-case word at either end ("European Union and") or a
    possessive clitic at the end ("News Corp 's"), suggesting the trimmed span
    with the same label; with `collocations`, a capitalized common word is
    part of a name where the corpus capitalizes it beside that name (at
    posterior `confidence`): "Old Trafford", "New England"."""
    check_range("confidence", confidence, 0.5, 1)
    return partial(name_structure_suspicion, confidence=confidence, positives=bool(positives),
                   negatives=bool(negatives), edges=bool(edges), collocations=bool(collocations))


@registry.misc("spacy-dynclean.name_structure.v3")
def name_structure_v3(confidence: float = 0.9, positives: bool = True, negatives: bool = True,
                      edges: bool = True, collocations: bool = True, title_case: bool = True) -> Detector:
    """As v2, and with `title_case` also judges the distant entities of
    sentences in title case (result lists, team sheets, headings), where the
    capitals say nothing but the corpus's common words still tell the names:
    "Dmitry" PER in "-- Dmitry Solovyov , Moscow Newsroom" is a partial match.
    Unlabelled runs there are not flagged. With `title_case` off, v2 exactly."""
    check_range("confidence", confidence, 0.5, 1)
    return partial(name_structure_suspicion, confidence=confidence, positives=bool(positives),
                   negatives=bool(negatives), edges=bool(edges), collocations=bool(collocations),
                   title_case=bool(title_case))


# --- per surface form --------------------------------------------------------------------------


def sample_forms(evidence: Evidence, rows: numpy.ndarray) -> List[str]:
    """The lower-cased text of each sample row (its surface form)."""
    samples = evidence.samples
    docs = evidence.docs_by_position()
    return [docs[int(samples.doc[r])][int(samples.start[r]): int(samples.end[r])].text.lower() for r in rows]


def per_form_suspicion(evidence: Evidence, *, detector: Detector, min_share: float = 0.5,
                       negatives: bool = False) -> Suspicion:
    """Decide per (surface form, label) instead of per sample: a form whose
    occurrences the wrapped detector judged (score not NaN) were flagged in
    more than `min_share` of the cases has every occurrence flagged (those it
    could not judge too); one flagged less often has none flagged. Distant
    errors repeat by form ("York" PER 43 times), so the evidence of the
    informative occurrences decides for all."""
    inner = detector(evidence)
    samples = evidence.samples
    out = Suspicion(inner.positive.copy(), inner.negative.copy(), inner.score.copy(), inner.label,
                    inner.proposals, dict(inner.details), list(inner.warnings), inner.abstained)
    kinds = [("positive", samples.positive & samples.candidates)]
    if negatives:
        kinds.append(("negative", ~samples.positive & samples.candidates))
    for kind, pool in kinds:
        rows = numpy.nonzero(pool)[0]
        flags = getattr(inner, kind)
        judged = ~numpy.isnan(inner.score)
        keys = [(f, int(lab)) for f, lab in zip(sample_forms(evidence, rows), samples.label[rows])]
        tally: Dict[tuple, List[int]] = {}
        for key, row in zip(keys, rows):
            t = tally.setdefault(key, [0, 0])
            t[0] += bool(flags[row] and judged[row])
            t[1] += bool(judged[row])
        decided = getattr(out, kind)
        forms_flagged = 0
        for key, row in zip(keys, rows):
            flagged, seen = tally[key]
            decided[row] = seen > 0 and flagged > min_share * seen
        forms_flagged = sum(1 for f, n in tally.values() if n and f > min_share * n)
        out.details[f"{kind}_forms_flagged"] = forms_flagged
        out.score[rows] = [tally[k][0] / tally[k][1] if tally[k][1] else numpy.nan for k in keys]
    # a suggestion for a sample the form's majority cleared goes, and so does the
    # negative flag of its suggested span (the wrapped detector's reason for it)
    props = inner.proposals
    cleared = (props.row >= 0) & ~out.positive[numpy.maximum(props.row, 0)]
    if cleared.any():
        from .samples import candidate_row

        keep = ~cleared
        out.proposals = Proposals(props.row[keep], props.doc[keep], props.start[keep], props.end[keep],
                                  props.label[keep], props.score[keep])
        still = set(zip(out.proposals.doc.tolist(), out.proposals.start.tolist(), out.proposals.end.tolist()))
        bases = doc_row_bases(samples)
        docs = evidence.docs_by_position()
        for doc, start, end, row in zip(props.doc[cleared].tolist(), props.start[cleared].tolist(),
                                        props.end[cleared].tolist(), props.row[cleared].tolist()):
            if (doc, start, end) in still or (start, end) == (int(samples.start[row]), int(samples.end[row])):
                continue
            run = int(bases[doc]) + candidate_row(start, end, len(docs[doc]), evidence.max_span_length)
            if not negatives:
                out.negative[run] = False
    return out


@registry.misc("spacy-dynclean.per_form.v1")
def per_form(detector: Detector, min_share: float = 0.5, negatives: bool = False) -> Detector:
    """Wrap a detector to decide per (surface form, label): flag every
    occurrence of a form that the wrapped detector flagged in more than
    `min_share` of the occurrences it could judge, and no occurrence of the
    others (positives; negatives too with `negatives`)."""
    check_range("min_share", min_share, 0, 1)
    if not callable(detector):
        raise DynCleanError("detector must be a registered detector")
    return partial(per_form_suspicion, detector=detector, min_share=min_share, negatives=bool(negatives))


# --- out-of-fold models --------------------------------------------------------------------------


def out_of_fold_suspicion(evidence: Evidence) -> Suspicion:
    """Where a model that never trained on the sentence (nor, entity-disjoint,
    on its entity forms) disagrees with the distant label: a distant entity
    whose span it gives another label (or none), a non-entity span it calls an
    entity. No threshold: the model's own decision is the rule; wrap it in
    `per_form.v1` to decide by the majority of a form's occurrences. Suggests
    the model's label (re-type) where it predicts another entity label."""
    folds = evidence.require("folds")
    samples = evidence.samples
    n_labels = len(samples.labels)
    covered = (folds.count > 0) & samples.candidates
    probs = folds.probs.astype("float32")
    pred = probs.argmax(axis=1)
    own = probs[numpy.arange(len(samples)), numpy.minimum(samples.label, n_labels)]
    disagree = covered & (pred != samples.label)
    flag_pos = disagree & samples.positive
    flag_neg = disagree & ~samples.positive
    score = numpy.where(covered, 1.0 - own, numpy.nan).astype("float32")
    label = numpy.where(flag_pos | flag_neg, pred, -1).astype("int64")
    rows = numpy.nonzero(flag_pos & (pred < n_labels))[0]
    proposals = Proposals(rows.astype("int64"), samples.doc[rows].astype("int64"), samples.start[rows].astype("int64"),
                          samples.end[rows].astype("int64"), pred[rows].astype("int64"),
                          probs[rows, pred[rows]].astype("float32"))
    return Suspicion(positive=flag_pos, negative=flag_neg, score=score, label=label, proposals=proposals,
                     details={"covered_samples": int(covered.sum()), "folds": folds.meta.get("folds"),
                              "mode": folds.meta.get("mode")})


@registry.misc("spacy-dynclean.out_of_fold.v1")
def out_of_fold() -> Detector:
    """Disagreement of out-of-fold models (`folds` command) with the distant labels."""
    return out_of_fold_suspicion
