"""Per surface form: a wrapper that decides per (form, label) by the majority
of the occurrences the wrapped detector could judge."""
from collections import Counter
from functools import partial
from typing import List, Tuple

import numpy
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Detector, Proposals, Suspicion, check_range, sample_forms
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.recording.samples import candidate_row
from spacy_dynclean.util import DynCleanError


def kind_forms(evidence: Evidence, kind: str) -> Tuple[numpy.ndarray, List[Tuple[str, int]]]:
    """The candidate rows of a kind ("positive": distant entities, "negative":
    the others) and their (surface form, label) keys."""
    samples = evidence.samples
    pool = samples.candidates & (samples.positive if kind == "positive" else ~samples.positive)
    rows = numpy.nonzero(pool)[0]
    return rows, [(f, int(lab)) for f, lab in zip(sample_forms(evidence, rows), samples.label[rows])]


def form_tally(evidence: Evidence, *, detector: Detector, kind: str) -> Tuple[Counter, Counter]:
    """Per (surface form, label) of a kind: the occurrences the wrapped
    detector flagged and judged (score not NaN), and those it judged."""
    inner = evidence.cached(("per_form_inner", id(detector)), lambda: detector(evidence))
    flags, judged = getattr(inner, kind), ~numpy.isnan(inner.score)
    flagged_n: Counter = Counter()
    seen_n: Counter = Counter()
    rows, keys = kind_forms(evidence, kind)
    for key, row in zip(keys, rows.tolist()):
        if judged[row]:
            seen_n[key] += 1
            flagged_n[key] += bool(flags[row])
    return flagged_n, seen_n


def per_form_suspicion(evidence: Evidence, *, detector: Detector, min_share: float = 0.5,
                       negatives: bool = False) -> Suspicion:
    """Decide per (surface form, label) instead of per sample: a form whose
    occurrences the wrapped detector judged (score not NaN) were flagged in
    more than `min_share` of the cases has every occurrence flagged (those it
    could not judge too); one flagged less often has none flagged. Distant
    errors repeat by form ("York" PER 43 times), so the evidence of the
    informative occurrences decides for all."""
    inner = evidence.cached(("per_form_inner", id(detector)), lambda: detector(evidence))
    samples = evidence.samples
    out = Suspicion(inner.positive.copy(), inner.negative.copy(), inner.score.copy(), inner.label,
                    inner.proposals, dict(inner.details), list(inner.warnings), inner.abstained, inner.summed)
    kinds = ["positive", "negative"] if negatives else ["positive"]
    tallies = evidence.counts({("per_form", id(detector), kind): partial(form_tally, detector=detector, kind=kind)
                               for kind in kinds})
    for kind, (flagged_n, seen_n) in zip(kinds, tallies):
        rows, keys = kind_forms(evidence, kind)
        decided = getattr(out, kind)
        for key, row in zip(keys, rows):
            decided[row] = seen_n[key] > 0 and flagged_n[key] > min_share * seen_n[key]
        out.details[f"{kind}_forms_flagged"] = sum(1 for key, n in seen_n.items() if flagged_n[key] > min_share * n)
        out.score[rows] = [flagged_n[k] / seen_n[k] if seen_n[k] else numpy.nan for k in keys]
    # a suggestion for a sample the form's majority cleared goes, and so does the
    # negative flag of its suggested span (the wrapped detector's reason for it)
    props = inner.proposals
    cleared = (props.row >= 0) & ~out.positive[numpy.maximum(props.row, 0)]
    if cleared.any():
        keep = ~cleared
        out.proposals = Proposals(props.row[keep], props.doc[keep], props.start[keep], props.end[keep],
                                  props.label[keep], props.score[keep])
        still = set(zip(out.proposals.doc.tolist(), out.proposals.start.tolist(), out.proposals.end.tolist()))
        bases = samples.doc_bases
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

