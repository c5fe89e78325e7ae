"""Labelled here, unlabelled there: distant entities whose text the corpus
mostly leaves as a non-entity.

A dictionary or a knowledge base labels a text the same way wherever it
matches; a distant entity whose text occurs far more often with no distant
entity on or around it ("the" as an organization in a few sentences, "he"
as a person) comes from a context rule or a partial match, not from the
text being a name. The detector counts, per lower-cased text of a distant
entity, its labelled occurrences (any label) and its free occurrences (the
same words as a candidate span overlapping no distant entity), and flags
every distant entity whose text is labelled in less than `max_share` of
them, with at least `min_count` occurrences in all. It reads no case and no
training run (counts of the corpus itself), so it speaks where names are
lower case; it suggests no label, so the correction strategy masks what it
flags (a wrong flag costs one entity's supervision, not a wrong negative).
"""
from collections import Counter
from functools import partial
from typing import List, Tuple

import numpy
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Detector, Suspicion, check_range, form_occurrences, lower_words
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.recording.samples import overlaps_positive
from spacy_dynclean.util import DynCleanError


def form_share_suspicion(evidence: Evidence, *, max_share: float = 0.5, min_count: int = 3) -> Suspicion:
    """Distant entities whose text is labelled in less than `max_share` of
    its labelled and free occurrences (see the module docstring); the score
    is one minus that share."""
    samples = evidence.samples
    n = len(samples)
    rows = numpy.nonzero(samples.candidates & samples.positive)[0]
    forms = entity_forms(evidence, rows)
    (labelled,) = evidence.counts({"entity_forms": lambda ev: Counter(
        entity_forms(ev, numpy.nonzero(ev.samples.candidates & ev.samples.positive)[0]))})
    known = set(labelled)
    (unlabelled,) = evidence.counts({"entity_forms_free": lambda ev: Counter(
        {form: len(found) for form, found in form_occurrences(ev, known, free_spans(ev)).items()})})
    share = numpy.array([labelled[f] / (labelled[f] + unlabelled[f]) for f in forms], dtype="float32")
    total = numpy.array([labelled[f] + unlabelled[f] for f in forms], dtype="int64")
    hit = (share < max_share) & (total >= min_count)
    flagged = numpy.zeros(n, dtype=bool)
    flagged[rows[hit]] = True
    score = numpy.full(n, numpy.nan, dtype="float32")
    score[rows] = 1.0 - share
    out = Suspicion.none(n)
    out.positive, out.score = flagged, score
    forms_flagged = sum(1 for f, k in labelled.items() if numpy.float32(k / (k + unlabelled[f])) < max_share
                        and k + unlabelled[f] >= min_count)
    out.details = {"forms": len(labelled), "forms_flagged": forms_flagged, "flagged_positives": int(flagged.sum())}
    out.summed = ("flagged_positives",)
    return out


def entity_forms(evidence: Evidence, rows: numpy.ndarray) -> List[Tuple[str, ...]]:
    """The lower-cased words of each sample row."""
    samples, words = evidence.samples, lower_words(evidence)
    return [tuple(words[int(samples.doc[r])][int(samples.start[r]): int(samples.end[r])]) for r in rows.tolist()]


def free_spans(evidence: Evidence) -> numpy.ndarray:
    """Candidate non-entity spans overlapping no distant entity."""
    samples = evidence.samples
    return samples.candidates & ~samples.positive & ~overlaps_positive(samples.doc, samples.start, samples.end,
                                                                      samples.positive)


@registry.misc("spacy-dynclean.form_share.v1")
def form_share(max_share: float = 0.5, min_count: int = 3) -> Detector:
    """Distant entities whose lower-cased text the corpus labels in less than
    `max_share` of its occurrences (labelled, or free of any distant entity),
    counted over at least `min_count` occurrences."""
    check_range("max_share", max_share, 0, 1)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise DynCleanError(f"min_count must be a whole number of at least 1, not {min_count!r}")
    return partial(form_share_suspicion, max_share=float(max_share), min_count=min_count)
