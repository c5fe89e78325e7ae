"""Strategies: how a decision's flags change the corpus.

`remove` (the default): a flagged positive leaves `doc.ents` and the span
group; every flagged sample goes into the ignore span group (the span
component learns it neither as entity nor as non-entity) and its tokens become
*missing* in `doc.ents` (so spaCy's stock `ner` can train on partial
annotation). `relabel`: a flagged sample whose model prediction was stable over
the first k epochs takes the predicted label instead (an entity, or dropped to
non-entity), and only the rest are masked. A doc with every token missing is
dropped and counted. The input docs are never modified.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Dict, List, Optional, Set, Tuple, Union

import numpy
from spacy.tokens import Doc, Span
from spacy.util import registry

from .decision import Flags, Strategy
from .detectors import Suspicion, check_k, check_range, validate_k
from .dynamics import Dynamics
from .evidence import Evidence
from .samples import doc_id, gold_spans
from .scores import resolve_k
from .util import CHANGES_KEY, DynCleanError

STRATEGIES = ("remove", "relabel")


def stable_prediction(dynamics: Dynamics, rows: numpy.ndarray, k: int, min_agreement: float = 1.0):
    """Predicted column of each row over the first k epochs, or -1 when the
    prediction changed more often than `min_agreement` allows."""
    pred = dynamics.pred[rows, :k].astype("int64")
    out = numpy.full(len(rows), -1, dtype="int64")
    for i, row in enumerate(pred):
        value, count = Counter(row.tolist()).most_common(1)[0]
        if count >= min_agreement * len(row):
            out[i] = value
    return out


@dataclass
class CleanStats:
    docs_in: int = 0
    docs_out: int = 0
    docs_dropped: int = 0
    positives_removed: int = 0
    positives_relabelled: int = 0
    negatives_masked: int = 0
    negatives_relabelled: int = 0
    masked_tokens: int = 0
    strategy: str = "remove"
    changes: Dict[str, int] = field(default_factory=dict)


def clean_docs(
    docs: List[Doc], dynamics: Dynamics, flags: Flags, *, strategy: str = "remove",
    k: Optional[int] = None, min_agreement: float = 1.0,
) -> Tuple[List[Doc], CleanStats]:
    """Apply the flags to copies of the docs (see the module docstring)."""
    if strategy not in STRATEGIES:
        raise DynCleanError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    spans_key, ignore_key = dynamics.spans_key, dynamics.ignore_key
    n_labels = len(dynamics.labels)
    rows = numpy.nonzero(flags.any)[0]
    new_label = numpy.full(len(rows), -1, dtype="int64")
    if strategy == "relabel" and len(rows):
        k = dynamics.n_epochs if k is None else min(k, dynamics.n_epochs)
        stable = stable_prediction(dynamics, rows, k, min_agreement)
        changed = (stable >= 0) & (stable != dynamics.label[rows])
        new_label[changed] = stable[changed]
    by_doc: Dict[int, List[Tuple[int, int, int, int]]] = defaultdict(list)
    for row, lab in zip(rows, new_label):
        by_doc[int(dynamics.doc[row])].append((int(dynamics.start[row]), int(dynamics.end[row]),
                                               int(dynamics.label[row]), int(lab)))
    pos_of = {d: i for i, d in enumerate(dynamics.doc_ids)}
    stats = CleanStats(docs_in=len(docs))
    out: List[Doc] = []
    for doc in docs:
        new = doc.copy()
        items = by_doc.get(pos_of[doc_id(doc)], [])
        if not items:
            out.append(new)
            continue
        ents = {(s.start, s.end): s.label_ for s in gold_spans(doc, spans_key)}
        ignored = [(s.start, s.end) for s in doc.spans.get(ignore_key, [])]
        masked: List[Tuple[int, int]] = []
        added: List[Tuple[int, int, str]] = []
        for start, end, old, lab in sorted(items, key=lambda x: (x[0], x[1])):
            is_pos = old < n_labels
            if is_pos:
                ents.pop((start, end), None)
            if lab >= 0 and lab < n_labels:
                added.append((start, end, dynamics.labels[lab]))
                stats.positives_relabelled += is_pos
                stats.negatives_relabelled += not is_pos
            elif lab == n_labels and is_pos:
                stats.positives_relabelled += 1  # relabelled to non-entity: a plain O
            else:
                masked.append((start, end))
                stats.positives_removed += is_pos
                stats.negatives_masked += not is_pos
        taken: Set[int] = set()
        for s, e in ents:
            taken.update(range(s, e))
        final_ents = [(s, e, label) for (s, e), label in ents.items()]
        for s, e, label in added:  # left to right; a relabel that overlaps is masked
            if not taken.intersection(range(s, e)):
                final_ents.append((s, e, label))
                taken.update(range(s, e))
            else:
                masked.append((s, e))
        missing_tokens = sorted({t for s, e in masked for t in range(s, e)} - taken)
        stats.masked_tokens += len(missing_tokens)
        if len(missing_tokens) == len(doc):
            stats.docs_dropped += 1
            continue
        ent_spans = [Span(new, s, e, label=label) for s, e, label in sorted(final_ents)]
        new.set_ents(
            ent_spans, missing=[new[t : t + 1] for t in missing_tokens], default="outside"
        )
        new.spans[spans_key] = ent_spans
        new.spans[ignore_key] = [new[s:e] for s, e in sorted(set(ignored) | set(masked))]
        if strategy != "remove":  # a relabelled doc may have no mask: say that `clean` changed it
            new.user_data[CHANGES_KEY] = len(items)
        out.append(new)
    stats.docs_out = len(out)
    stats.strategy = strategy
    return out, stats


def remove(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion]) -> Tuple[List[Doc], CleanStats]:
    """Mask every flagged sample (a flagged positive leaves the entities)."""
    return clean_docs(evidence.docs, evidence.samples, flags, strategy="remove")


def relabel(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], *,
            k: Union[int, str, None] = "auto", min_agreement: float = 1.0) -> Tuple[List[Doc], CleanStats]:
    """Give a flagged sample the recording run's stable prediction over the
    first k epochs; mask the rest."""
    dynamics = evidence.require("dynamics")
    check_k(k, dynamics.n_epochs, evidence.paths.get("dynamics"))
    return clean_docs(evidence.docs, dynamics, flags, strategy="relabel", k=resolve_k(dynamics, k),
                      min_agreement=min_agreement)


@registry.misc("spacy-dynclean.remove.v1")
def remove_strategy() -> Strategy:
    """Mask flagged samples: the span component skips them, and their tokens
    are missing for spaCy's stock `ner`."""
    return remove


@registry.misc("spacy-dynclean.relabel.v1")
def relabel_strategy(k: Union[int, str, None] = "auto", min_agreement: float = 1.0) -> Strategy:
    """Relabel flagged samples with the recording run's prediction where it
    was the same in at least `min_agreement` of the first k epochs."""
    check_range("min_agreement", min_agreement, 0, 1)
    return partial(relabel, k=validate_k(k), min_agreement=min_agreement)


# --- correction -------------------------------------------------------------------------------------


@dataclass
class Change:
    """A suggested span for a doc: label column (-1: unknown, mask it;
    the non-entity column: plain non-entity), where it came from."""

    start: int
    end: int
    label: int
    score: float
    kind: str


def suggestions(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], detectors: List[str]
                ) -> Tuple[Dict[int, Change], Dict[Tuple[int, int, int], int]]:
    """The proposals of `detectors` for the decided flags: per flagged
    positive row, the best replacement; per (doc, start, end) of a flagged
    negative, the label the proposals give it (-1 when they disagree)."""
    samples = evidence.samples
    n_labels = len(samples.labels)
    replace: Dict[int, Change] = {}
    span_labels: Dict[Tuple[int, int, int], int] = {}
    for name in detectors:
        props = suspicions[name].proposals
        for row, doc, start, end, label, score in zip(props.row, props.doc, props.start, props.end, props.label,
                                                      props.score):
            row, doc, start, end, label = int(row), int(doc), int(start), int(end), int(label)
            if row >= 0 and flags.positive[row]:
                s, e = int(samples.start[row]), int(samples.end[row])
                kind = "removed" if label == n_labels else "masked" if label < 0 else \
                    "retyped" if (start, end) == (s, e) else "rebounded"
                best = replace.get(row)
                if best is None or float(score) > best.score:
                    replace[row] = Change(start, end, label, float(score), kind)
            if 0 <= label < n_labels:
                key = (doc, start, end)
                span_labels[key] = label if span_labels.get(key, label) == label else -1
    return replace, span_labels


def correct_docs(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], detectors: List[str]
                 ) -> Tuple[List[Doc], CleanStats]:
    """Apply the decided flags with the detectors' suggestions: a flagged
    entity with a suggested span and label is replaced (re-typed or
    re-bounded), with a non-entity suggestion it becomes plain non-entity,
    without a usable suggestion it is masked; a flagged non-entity span with a
    suggested label is added, otherwise masked. A suggestion that overlaps an
    entity kept or added before it is masked instead. Every change is counted."""
    samples = evidence.samples
    spans_key, ignore_key = samples.spans_key, samples.ignore_key
    n_labels = len(samples.labels)
    replace, span_labels = suggestions(evidence, flags, suspicions, detectors)
    by_doc: Dict[int, List[int]] = defaultdict(list)
    for row in numpy.nonzero(flags.any)[0]:
        by_doc[int(samples.doc[row])].append(int(row))
    pos_of = {d: i for i, d in enumerate(samples.doc_ids)}
    stats = CleanStats(docs_in=len(evidence.docs), strategy="correct")
    changes: Counter = Counter()
    out: List[Doc] = []
    for doc in evidence.docs:
        new = doc.copy()
        p = pos_of[doc_id(doc)]
        rows = sorted(by_doc.get(p, []), key=lambda r: (int(samples.start[r]), int(samples.end[r])))
        if not rows:
            out.append(new)
            continue
        ents = {(s.start, s.end): s.label_ for s in gold_spans(doc, spans_key)}
        ignored = {(s.start, s.end) for s in doc.spans.get(ignore_key, [])}
        masked: List[Tuple[int, int]] = []
        additions: List[Tuple[int, int, int, str]] = []  # start, end, label, kind
        n_doc = 0
        for row in rows:
            s, e = int(samples.start[row]), int(samples.end[row])
            if flags.positive[row]:
                ents.pop((s, e), None)
                change = replace.get(row)
                if change is None or change.label < 0:
                    masked.append((s, e))
                    if change is not None:
                        masked.append((change.start, change.end))
                    kind = "masked"
                elif change.label == n_labels:
                    kind = "removed"
                else:
                    additions.append((change.start, change.end, change.label, change.kind))
                    kind = change.kind
                changes[f"positives_{kind}"] += 1
            else:
                label = span_labels.get((p, s, e), -1)
                if label >= 0:
                    additions.append((s, e, label, "added"))
                else:
                    masked.append((s, e))
                    changes["negatives_masked"] += 1
            n_doc += 1
        taken: Set[int] = {t for s, e in ents for t in range(s, e)}
        added: Set[Tuple[int, int]] = set()
        additions.sort(key=lambda a: a[3] == "added")  # replacements of flagged entities first
        for s, e, label, kind in additions:
            if (s, e) in added:
                continue
            if taken.intersection(range(s, e)):
                masked.append((s, e))
                changes["suggestions_masked_for_overlap"] += 1
                continue
            ents[(s, e)] = samples.labels[label]
            taken.update(range(s, e))
            added.add((s, e))
            if kind == "added":
                changes["negatives_added"] += 1
        missing_tokens = sorted({t for s, e in masked for t in range(s, e)} - taken)
        stats.masked_tokens += len(missing_tokens)
        if len(missing_tokens) == len(doc):
            stats.docs_dropped += 1
            continue
        ent_spans = [Span(new, s, e, label=label) for (s, e), label in sorted(ents.items())]
        new.set_ents(ent_spans, missing=[new[t: t + 1] for t in missing_tokens], default="outside")
        new.spans[spans_key] = ent_spans
        new.spans[ignore_key] = [new[s:e] for s, e in sorted(ignored | {m for m in masked if not taken.issuperset(
            range(*m))})]
        new.user_data[CHANGES_KEY] = n_doc
        out.append(new)
    stats.docs_out = len(out)
    stats.positives_removed = changes["positives_removed"] + changes["positives_masked"]
    stats.positives_relabelled = changes["positives_retyped"] + changes["positives_rebounded"]
    stats.negatives_masked = changes["negatives_masked"]
    stats.negatives_relabelled = changes["negatives_added"]
    stats.changes = dict(changes)
    return out, stats


def correct(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], *,
            detectors: Optional[List[str]] = None) -> Tuple[List[Doc], CleanStats]:
    return correct_docs(evidence, flags, suspicions, list(suspicions) if detectors is None else detectors)


@registry.misc("spacy-dynclean.correct.v1")
def correct_strategy(detectors: Optional[List[str]] = None) -> Strategy:
    """Correct instead of only removing: use the span and label the
    detectors suggest for each flagged sample (re-type, re-bound, remove as
    non-entity, add a missed entity) and mask where there is no usable
    suggestion. `detectors`: whose suggestions count (default: every
    detector the decision reads)."""
    if detectors is not None and (not isinstance(detectors, list) or not all(isinstance(d, str) for d in detectors)):
        raise DynCleanError(f"detectors must be a list of detector names or null, not {detectors!r}")
    return partial(correct, detectors=detectors)
