"""What the recording model learned: missed entities from the training
dynamics, with no rule about the text's case.

A span the distant labels leave as non-entity but that the model, early in
training, already thinks may be an entity is a candidate missed entity
(margins of the first epochs rank them well before they are memorised; AUM,
Pleiss et al. 2020; DynClean, Zhang et al. 2025). The detector reads the
recording run alone (no threshold run, no dev set):

- **score**: the model's probability that a non-entity span is an entity,
  averaged over the first k epochs. The recording keeps the probability of
  the assigned column and the margin to the best other column, so that
  probability is ``p_assigned * exp(-margin)``.
- **cut**: a span is flagged where that probability is at least
  ``min_ratio`` times the corpus's own prior that a candidate span is an
  entity (distant entities over candidate spans): the model's posterior
  above the prior. No fixed budget: the corpus and the model set it.
- **suppression**: of overlapping flagged spans of a sentence only the most
  entity-like stays (a missed "new york city" flags one span, not five).
- **suggestion**: a label where the model predicted the same entity label in
  more than half of the first k epochs (a missed entity to add); the others
  carry no label, so the correction strategy masks them.
- **per form** (optional): a text flagged in most of its non-entity
  occurrences is flagged in all of them.

Spans that overlap a distant entity are left to the decision's protection
rules (they teach where entities end). With `positives`, a distant entity is
flagged where a span overlapping it (a longer or shifted one) is more
entity-like to the model than the distant entity's own label ("york" PER
inside "new york"), suggesting that span; off in the presets: a distant
entity's own margin says little about whether it is wrong (it is fitted as
fast as a right one; see docs/decisions.md).
"""
from collections import Counter
from functools import partial
from typing import Any, Dict, List, Set, Tuple, Union

import numpy
from spacy.util import registry

from spacy_dynclean.cleaning.contract import (Detector, Proposals, Suspicion, check_k, check_range, form_occurrences,
                                              lower_words, validate_k)
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.evidence.scores import fit_counts
from spacy_dynclean.recording.samples import overlaps_positive


def entity_probability(dynamics: Dynamics, k: int) -> numpy.ndarray:
    """Per sample, the mean over the first k epochs of the largest
    probability of a column other than the assigned one (for a non-entity
    span: of its best entity label)."""
    own = dynamics.epochs_of("probs", k).astype("float32")
    return (own * numpy.exp(-dynamics.epochs_of("margins", k).astype("float32"))).mean(axis=1)


def majority_entity_label(dynamics: Dynamics, rows: numpy.ndarray, k: int) -> numpy.ndarray:
    """Per row, the entity label column predicted in more than half of the
    first k epochs, or -1."""
    n_labels = len(dynamics.labels)
    pred = dynamics.epochs_of("pred", k, rows).astype("int64")
    out = numpy.full(len(rows), -1, dtype="int64")
    for i, row in enumerate(pred):
        value, count = Counter(row.tolist()).most_common(1)[0]
        if value < n_labels and count * 2 > len(row):
            out[i] = value
    return out


def suppress_overlaps(dynamics: Dynamics, rows: numpy.ndarray, score: numpy.ndarray) -> numpy.ndarray:
    """The rows that overlap no higher-scoring row of their doc (greedy,
    highest score first; ties by row order)."""
    order = rows[numpy.argsort(-score[rows], kind="stable")]
    taken: Dict[int, set] = {}
    keep: List[int] = []
    for row in order.tolist():
        doc, start, end = int(dynamics.doc[row]), int(dynamics.start[row]), int(dynamics.end[row])
        used = taken.setdefault(doc, set())
        if used.isdisjoint(range(start, end)):
            used.update(range(start, end))
            keep.append(row)
    return numpy.asarray(sorted(keep), dtype="int64")


def pool_by_form(evidence: Evidence, flagged: numpy.ndarray, key: Tuple[Any, ...]) -> numpy.ndarray:
    """Flags decided per lower-cased text: every occurrence in the pool of a
    text flagged in more than half of its pool occurrences over the corpus,
    and none of the others. `key`: the settings of `first_flags`, which give
    the pool and the flags of every batch (the corpus counts need them)."""
    def hits(ev: Evidence) -> Counter:
        samples, words = ev.samples, lower_words(ev)
        return Counter(tuple(words[int(samples.doc[r])][int(samples.start[r]): int(samples.end[r])])
                       for r in numpy.nonzero(first_flags(ev, *key)[1])[0].tolist())

    def found(ev: Evidence, forms: Set[Tuple[str, ...]]) -> Dict[Tuple[str, ...], List[int]]:
        return ev.cached(("learned_forms", key), lambda: form_occurrences(ev, forms, first_flags(ev, *key)[0]))

    (hit,) = evidence.counts({("learned_hits", key): hits})
    forms = set(hit)
    (seen,) = evidence.counts({("learned_seen", key): lambda ev: Counter(
        {form: len(rows) for form, rows in found(ev, forms).items()})})
    out = flagged.copy()
    for form, rows in found(evidence, forms).items():
        out[rows] = hit[form] * 2 > seen[form]
    return out


def overlapping_rivals(dynamics: Dynamics, p_entity: numpy.ndarray, own: numpy.ndarray
                       ) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """(rows, rival rows): each candidate distant entity that a non-entity
    span overlapping it beats, the model giving the rival a higher entity
    probability than the distant entity its own label, and the best rival.
    Vectorized over the distant entities, one relative position at a time."""
    max_len = int(dynamics.meta["max_span_length"])
    lengths = numpy.zeros(len(dynamics.doc_ids), dtype="int64")
    numpy.maximum.at(lengths, dynamics.doc, dynamics.end)
    bases = dynamics.doc_bases
    rows = numpy.nonzero(dynamics.candidates & dynamics.positive)[0]
    start = dynamics.start[rows].astype("int64")
    end = dynamics.end[rows].astype("int64")
    n = lengths[dynamics.doc[rows]]
    base = bases[dynamics.doc[rows]]
    best = own[rows].astype("float32")
    rival = numpy.full(len(rows), -1, dtype="int64")
    for left in range(-(max_len - 1), max_len):  # the rival's start, relative to the entity's
        for size in range(1, max_len + 1):
            a, b = start + left, start + left + size
            ok = (a >= 0) & (b <= n) & (a < end) & (b > start) & ~((a == start) & (b == end))
            if not ok.any():
                continue
            other = base + (size - 1) * (n + 1) - (size - 1) * size // 2 + a
            other = numpy.where(ok, other, 0)
            p = numpy.where(ok & ~dynamics.positive[other], p_entity[other], -1.0)
            better = p > best
            best = numpy.where(better, p, best)
            rival = numpy.where(better, other, rival)
    found = rival >= 0
    return rows[found], rival[found]


def first_flags(evidence: Evidence, k: Union[int, str, None], min_ratio: float, suppress: bool
                ) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, int, float]:
    """(pool, flagged, entity probability, k used, prior) before any per-form
    decision: the non-entity spans overlapping no distant entity, those above
    the cut (the most entity-like of overlapping ones with `suppress`)."""
    def make() -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, int, float]:
        dynamics = evidence.require("dynamics")
        check_k(k, dynamics.n_epochs, evidence.paths.get("dynamics"))
        counts = {"entity_prior": lambda ev: (int((ev.samples.candidates & ev.samples.positive).sum()),
                                              int(ev.samples.candidates.sum()))}
        if k == "auto":  # asked together: a cleaning in batches counts them in one pass
            counts["epochs_fit"] = lambda ev: fit_counts(ev.require("dynamics"))
        (positives, candidates), *_ = evidence.counts(counts)
        k_used = evidence.k_of(k)
        prior = float(positives) / max(candidates, 1)
        candidate, positive = dynamics.candidates, dynamics.positive
        p_entity = entity_probability(dynamics, k_used)
        pool = candidate & ~positive & ~overlaps_positive(dynamics.doc, dynamics.start, dynamics.end, positive)
        rows = numpy.nonzero(pool & (p_entity >= min_ratio * prior))[0]
        if suppress and len(rows):
            rows = suppress_overlaps(dynamics, rows, p_entity)
        flagged = numpy.zeros(len(dynamics), dtype=bool)
        flagged[rows] = True
        return pool, flagged, p_entity, k_used, prior

    return evidence.cached(("learned_first", k, min_ratio, suppress), make)


def learned_suspicion(evidence: Evidence, *, k: Union[int, str, None] = "auto", min_ratio: float = 1.0,
                      suppress: bool = True, suggest: bool = True, per_form: bool = False,
                      positives: bool = False) -> Suspicion:
    """Non-entity spans whose entity probability over the first k epochs is
    at least `min_ratio` times the corpus's prior entity rate (see the module
    docstring). Abstains, with a warning, where no recording is given."""
    samples = evidence.samples
    n = len(samples)
    if evidence.dynamics is None:
        out = Suspicion.none(n)
        out.abstained = True
        out.warnings.append("no recording run given (paths.dynamics): the training dynamics flag nothing")
        return out
    dynamics = evidence.dynamics
    pool, flagged, p_entity, k_used, prior = first_flags(evidence, k, min_ratio, suppress)
    above = pool & (p_entity >= min_ratio * prior)
    if per_form:
        flagged = pool_by_form(evidence, flagged, (k, min_ratio, suppress))
    rows = numpy.nonzero(flagged)[0]
    label = numpy.full(n, -1, dtype="int64")
    proposals = Proposals.empty()
    if suggest and len(rows):
        labels = majority_entity_label(dynamics, rows, k_used)
        label[rows] = labels
        has = labels >= 0
        chosen = rows[has]
        proposals = Proposals(numpy.full(len(chosen), -1, dtype="int64"), dynamics.doc[chosen].astype("int64"),
                              dynamics.start[chosen].astype("int64"), dynamics.end[chosen].astype("int64"),
                              labels[has], p_entity[chosen].astype("float32"))
    score = numpy.where(pool, p_entity, numpy.nan).astype("float32")
    flag_pos = numpy.zeros(n, dtype=bool)
    if positives:
        own = dynamics.epochs_of("probs", k_used).astype("float32").mean(axis=1)
        rows_p, rival_rows = overlapping_rivals(dynamics, p_entity, own)
        if len(rows_p):
            flag_pos[rows_p] = True
            score[rows_p] = p_entity[rival_rows] - own[rows_p]
            rival_labels = majority_entity_label(dynamics, rival_rows, k_used) if suggest \
                else numpy.full(len(rival_rows), -1, dtype="int64")
            extra = Proposals(rows_p, dynamics.doc[rival_rows].astype("int64"),
                              dynamics.start[rival_rows].astype("int64"), dynamics.end[rival_rows].astype("int64"),
                              rival_labels, p_entity[rival_rows].astype("float32"))
            proposals = Proposals(*(numpy.concatenate([getattr(proposals, f), getattr(extra, f)])
                                    for f in ("row", "doc", "start", "end", "label", "score")))
    return Suspicion(
        positive=flag_pos, negative=flagged, score=score, label=label, proposals=proposals,
        details={"k": k_used, "prior_entity_rate": round(prior, 6), "cut": round(min_ratio * prior, 6),
                 "above_cut": int(above.sum()), "flagged_negatives": int(flagged.sum()),
                 "flagged_positives": int(flag_pos.sum()), "suggested_labels": len(proposals)},
        summed=("above_cut", "flagged_negatives", "flagged_positives", "suggested_labels"),
    )


@registry.misc("spacy-dynclean.learned_negatives.v1")
def learned_negatives(k: Union[int, str, None] = "auto", min_ratio: float = 1.0, suppress: bool = True,
                      suggest: bool = True, per_form: bool = False, positives: bool = False) -> Detector:
    """Missed entities from the recording run's dynamics: non-entity spans
    the model already finds more entity-like than the corpus's prior over
    the first k epochs ("auto": the end of early learning), most
    entity-like of overlapping ones (`suppress`), typed by the model's stable
    prediction (`suggest`), optionally decided per text (`per_form`); with
    `positives`, also distant entities that an overlapping span beats."""
    check_range("min_ratio", min_ratio, 0, 1e6)
    return partial(learned_suspicion, k=validate_k(k), min_ratio=float(min_ratio), suppress=bool(suppress),
                   suggest=bool(suggest), per_form=bool(per_form), positives=bool(positives))
