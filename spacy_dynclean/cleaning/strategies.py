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
from dataclasses import dataclass
from functools import partial
from typing import Dict, Iterable, List, Optional, Set, Tuple, Union

import numpy
from spacy.tokens import Doc, Span
from spacy.util import registry

from spacy_dynclean.cleaning.contract import (CleanStats, Cleaned, Flags, Proposals, Strategy, Suspicion, check_k,
                                              check_range, validate_k)
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.recording.samples import doc_id, gold_spans
from spacy_dynclean.util import CHANGES_KEY, DynCleanError

STRATEGIES = ("remove", "relabel")
#: The name under which a reviewer's decisions join the suggestions.
REVIEW = "review"


def stable_prediction(dynamics: Dynamics, rows: numpy.ndarray, k: int, min_agreement: float = 1.0):
    """Predicted column of each row over the first k epochs, or -1 when the
    prediction changed more often than `min_agreement` allows."""
    pred = dynamics.epochs_of("pred", k, rows).astype("int64")
    out = numpy.full(len(rows), -1, dtype="int64")
    for i, row in enumerate(pred):
        value, count = Counter(row.tolist()).most_common(1)[0]
        if count >= min_agreement * len(row):
            out[i] = value
    return out


def annotate(doc: Doc, ents: Iterable[Tuple[int, int, str]], masked: Iterable[Tuple[int, int]],
             ignored: Iterable[Tuple[int, int]], stats: CleanStats, *, spans_key: str, ignore_key: str,
             changes: Optional[int]) -> Optional[Doc]:
    """A copy of `doc` with the entities `ents`, the tokens of `masked` that
    no entity holds missing, `ignored` as its ignore span group and
    `changes` counted in its user data; None (counted as dropped) where every
    token would be missing."""
    ents = sorted(ents)
    taken = {t for s, e, _ in ents for t in range(s, e)}
    missing = sorted({t for s, e in masked for t in range(s, e)} - taken)
    stats.masked_tokens += len(missing)
    if len(missing) == len(doc):
        stats.docs_dropped += 1
        return None
    new = doc.copy()
    spans = [Span(new, s, e, label=label) for s, e, label in ents]
    new.set_ents(spans, missing=[new[t: t + 1] for t in missing], default="outside")
    new.spans[spans_key] = spans
    new.spans[ignore_key] = [new[s:e] for s, e in sorted(set(ignored))]
    if changes is not None:
        new.user_data[CHANGES_KEY] = changes
    return new


def flagged_doc(doc: Doc, items: List[Tuple[int, int, int, int]], labels: List[str], stats: CleanStats,
                spans_key: str) -> Tuple[List[Tuple[int, int, str]], List[Tuple[int, int]]]:
    """The entities and masked spans of a doc whose flagged samples are
    `items` (start, end, old label column, new label column or -1)."""
    n_labels = len(labels)
    ents = {(s.start, s.end): s.label_ for s in gold_spans(doc, spans_key)}
    masked: List[Tuple[int, int]] = []
    added: List[Tuple[int, int, str]] = []
    for start, end, old, lab in sorted(items, key=lambda x: (x[0], x[1])):
        is_pos = old < n_labels
        if is_pos:
            ents.pop((start, end), None)
        if lab >= 0 and lab < n_labels:
            added.append((start, end, labels[lab]))
            stats.positives_relabelled += is_pos
            stats.negatives_relabelled += not is_pos
        elif lab == n_labels and is_pos:
            stats.positives_relabelled += 1  # relabelled to non-entity: a plain O
        else:
            masked.append((start, end))
            stats.positives_removed += is_pos
            stats.negatives_masked += not is_pos
    taken: Set[int] = {t for s, e in ents for t in range(s, e)}
    final_ents = [(s, e, label) for (s, e), label in ents.items()]
    for s, e, label in added:  # left to right; a relabel that overlaps is masked
        if not taken.intersection(range(s, e)):
            final_ents.append((s, e, label))
            taken.update(range(s, e))
        else:
            masked.append((s, e))
    return final_ents, masked


def clean_docs(
    docs: List[Doc], dynamics: Dynamics, flags: Flags, *, strategy: str = "remove",
    k: Optional[int] = None, min_agreement: float = 1.0,
) -> Cleaned:
    """Apply the flags to copies of the flagged docs; the others are kept as they are (see the module
    docstring)."""
    if strategy not in STRATEGIES:
        raise DynCleanError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    spans_key, ignore_key = dynamics.spans_key, dynamics.ignore_key
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
        items = by_doc.get(pos_of[doc_id(doc)], [])
        if not items:
            out.append(doc)  # unchanged: not copied (at scale the copies cost as much as the corpus)
            continue
        ignored = [(s.start, s.end) for s in doc.spans.get(ignore_key, [])]
        final_ents, masked = flagged_doc(doc, items, dynamics.labels, stats, spans_key)
        # a relabelled doc may have no mask: say that `clean` changed it
        new = annotate(doc, final_ents, masked, set(ignored) | set(masked), stats, spans_key=spans_key,
                       ignore_key=ignore_key, changes=None if strategy == "remove" else len(items))
        if new is not None:
            out.append(new)
    stats.docs_out = len(out)
    stats.strategy = strategy
    return Cleaned(out, stats)


def remove(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], *,
           reviewed: Optional[Suspicion] = None) -> Cleaned:
    """Mask every flagged sample (a flagged positive leaves the entities);
    a reviewer's decisions, where given, apply as decided."""
    if reviewed is not None:
        return correct_docs(evidence, flags, {REVIEW: reviewed}, [REVIEW])
    return clean_docs(evidence.docs, evidence.samples, flags, strategy="remove")


def stable_proposals(dynamics: Dynamics, flags: Flags, k: int, min_agreement: float) -> Suspicion:
    """The relabelling as suggested spans: a flagged sample whose stable
    prediction differs from its label gets that label (non-entity included)."""
    rows = numpy.nonzero(flags.any)[0]
    stable = stable_prediction(dynamics, rows, k, min_agreement) if len(rows) else rows
    n_labels = len(dynamics.labels)
    keep = (stable >= 0) & (stable != dynamics.label[rows]) & (flags.positive[rows] | (stable < n_labels))
    rows, stable = rows[keep], stable[keep]
    suspicion = Suspicion.none(len(dynamics))
    suspicion.proposals = Proposals(numpy.where(flags.positive[rows], rows, -1).astype("int64"),
                                    dynamics.doc[rows].astype("int64"), dynamics.start[rows].astype("int64"),
                                    dynamics.end[rows].astype("int64"), stable.astype("int64"),
                                    numpy.ones(len(rows), dtype="float32"))
    return suspicion


def relabel(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], *,
            k: Union[int, str, None] = "auto", min_agreement: float = 1.0,
            reviewed: Optional[Suspicion] = None) -> Cleaned:
    """Give a flagged sample the recording run's stable prediction over the
    first k epochs; mask the rest. A reviewer's decisions, where given, come
    before the prediction."""
    dynamics = evidence.require("dynamics")
    check_k(k, dynamics.n_epochs, evidence.paths.get("dynamics"))
    k_used = evidence.k_of(k)
    if reviewed is not None:
        stable = stable_proposals(dynamics, flags, min(k_used, dynamics.n_epochs), min_agreement)
        return correct_docs(evidence, flags, {REVIEW: reviewed, "relabel": stable}, [REVIEW, "relabel"])
    return clean_docs(evidence.docs, dynamics, flags, strategy="relabel", k=k_used, min_agreement=min_agreement)


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


def doc_corrections(samples: Dynamics, flags: Flags, p: int, rows: List[int], ents: Dict[Tuple[int, int], str],
                    replace: Dict[int, "Change"], span_labels: Dict[Tuple[int, int, int], int], changes: Counter
                    ) -> Tuple[List[Tuple[int, int]], List[Tuple[int, int, int, str]]]:
    """The masked spans and the additions (start, end, label, kind) of the
    flagged `rows` of doc `p`; flagged entities leave `ents`."""
    n_labels = len(samples.labels)
    masked: List[Tuple[int, int]] = []
    additions: List[Tuple[int, int, int, str]] = []
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
    return masked, additions


def place_additions(ents: Dict[Tuple[int, int], str], masked: List[Tuple[int, int]],
                    additions: List[Tuple[int, int, int, str]], labels: List[str], changes: Counter) -> Set[int]:
    """Add the suggested entities that overlap nothing kept or added before
    (replacements of flagged entities first), mask the others; returns the
    tokens the entities hold."""
    taken: Set[int] = {t for s, e in ents for t in range(s, e)}
    added: Set[Tuple[int, int]] = set()
    additions.sort(key=lambda a: a[3] == "added")
    for s, e, label, kind in additions:
        if (s, e) in added:
            continue
        if taken.intersection(range(s, e)):
            masked.append((s, e))
            changes["suggestions_masked_for_overlap"] += 1
            continue
        ents[(s, e)] = labels[label]
        taken.update(range(s, e))
        added.add((s, e))
        if kind == "added":
            changes["negatives_added"] += 1
    return taken


def correct_docs(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], detectors: List[str]
                 ) -> Cleaned:
    """Apply the decided flags with the detectors' suggestions: a flagged
    entity with a suggested span and label is replaced (re-typed or
    re-bounded), with a non-entity suggestion it becomes plain non-entity,
    without a usable suggestion it is masked; a flagged non-entity span with a
    suggested label is added, otherwise masked. A suggestion that overlaps an
    entity kept or added before it is masked instead. Every change is counted."""
    samples = evidence.samples
    spans_key, ignore_key = samples.spans_key, samples.ignore_key
    replace, span_labels = suggestions(evidence, flags, suspicions, detectors)
    by_doc: Dict[int, List[int]] = defaultdict(list)
    for row in numpy.nonzero(flags.any)[0]:
        by_doc[int(samples.doc[row])].append(int(row))
    pos_of = {d: i for i, d in enumerate(samples.doc_ids)}
    stats = CleanStats(docs_in=len(evidence.docs), strategy="correct")
    changes: Counter = Counter()
    out: List[Doc] = []
    for doc in evidence.docs:
        p = pos_of[doc_id(doc)]
        rows = sorted(by_doc.get(p, []), key=lambda r: (int(samples.start[r]), int(samples.end[r])))
        if not rows:
            out.append(doc)  # unchanged: not copied (at scale the copies cost as much as the corpus)
            continue
        ents = {(s.start, s.end): s.label_ for s in gold_spans(doc, spans_key)}
        ignored = {(s.start, s.end) for s in doc.spans.get(ignore_key, [])}
        masked, additions = doc_corrections(samples, flags, p, rows, ents, replace, span_labels, changes)
        taken = place_additions(ents, masked, additions, samples.labels, changes)
        kept = ignored | {m for m in masked if not taken.issuperset(range(*m))}
        new = annotate(doc, [(s, e, label) for (s, e), label in ents.items()], masked, kept, stats,
                       spans_key=spans_key, ignore_key=ignore_key, changes=len(rows))
        if new is not None:
            out.append(new)
    stats.docs_out = len(out)
    stats.positives_removed = changes["positives_removed"] + changes["positives_masked"]
    stats.positives_relabelled = changes["positives_retyped"] + changes["positives_rebounded"]
    stats.negatives_masked = changes["negatives_masked"]
    stats.negatives_relabelled = changes["negatives_added"]
    stats.changes = dict(changes)
    return Cleaned(out, stats)


def correct(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], *,
            detectors: Optional[List[str]] = None, reviewed: Optional[Suspicion] = None) -> Cleaned:
    """`correct_docs` with the suggestions of `detectors` (None: every
    detector that ran), a reviewer's decisions first where given."""
    names = list(suspicions) if detectors is None else list(detectors)
    if reviewed is not None:
        return correct_docs(evidence, flags, {**suspicions, REVIEW: reviewed}, [REVIEW, *names])
    return correct_docs(evidence, flags, suspicions, names)


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
