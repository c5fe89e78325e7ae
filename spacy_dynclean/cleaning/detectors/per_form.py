"""Per surface form: a wrapper that decides per (form, label) by the majority
of the occurrences the wrapped detector could judge."""
from functools import partial
from typing import Dict, List

import numpy
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Detector, Proposals, Suspicion, check_range, sample_forms
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.recording.samples import candidate_row
from spacy_dynclean.util import DynCleanError


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

