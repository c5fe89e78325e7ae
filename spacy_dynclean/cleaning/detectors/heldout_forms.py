"""Held-out evidence of a gold dev set: the forms the recording run's
pipeline predicted on dev and never got right, and the dev entities it
missed (see `evidence.heldout`)."""
from functools import partial

import numpy
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Detector, Proposals, Suspicion, check_range
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.evidence.dev_check import check_dev_counts, entity_texts
from spacy_dynclean.evidence.heldout import flag_forms
from spacy_dynclean.util import DynCleanError


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
    (held, rest), = evidence.counts({"dev_check": lambda ev: entity_texts(ev.docs, samples.spans_key, ev.first_doc)})
    dev = check_dev_counts(forms, held, rest)
    warning = dev.warning()
    return Suspicion(
        positive=pos, negative=neg, score=numpy.where(pos | neg, 1.0, numpy.nan).astype("float32"),
        proposals=Proposals.from_rows(rows),
        details={"dev_docs": forms.docs, "evidence": forms.meta,
                 "wrong_forms": len(forms.wrong_forms(min_predicted, max_precision)),
                 "missed_forms": len(forms.missed_forms(min_missed_share=min_missed_share)) if negatives else 0,
                 "dev_novel_share": round(dev.dev_novel, 3), "train_novel_share": round(dev.train_novel, 3),
                 "dev_looks_distant": dev.looks_distant},
        warnings=[warning] if warning else [],
    )



def check_settings(min_predicted: int, max_precision: float, min_missed_share: float) -> None:
    """The settings every version shares, or an error naming the first bad one."""
    if isinstance(min_predicted, bool) or not isinstance(min_predicted, int) or min_predicted < 1:
        raise DynCleanError(f"min_predicted must be a whole number >= 1, not {min_predicted!r}")
    check_range("max_precision", max_precision, 0, 1)
    check_range("min_missed_share", min_missed_share, 0, 1)


@registry.misc("spacy-dynclean.heldout_forms.v2")
def heldout_forms_v2(min_predicted: int = 1, max_precision: float = 0.0, negatives: bool = True,
                     min_missed_share: float = 0.5, min_entity_share: float = 0.5) -> Detector:
    """v1, asking for enough dev evidence before a text is called a missed
    entity or given a label: dev gold has it as an entity (with that label)
    in at least `min_entity_share` of its dev occurrences. Needs evidence
    written by `heldout` of this version (it counts the occurrences)."""
    check_settings(min_predicted, max_precision, min_missed_share)
    check_range("min_entity_share", min_entity_share, 0, 1)
    return partial(heldout_suspicion, min_predicted=min_predicted, max_precision=max_precision,
                   negatives=bool(negatives), min_missed_share=min_missed_share, min_entity_share=min_entity_share)

