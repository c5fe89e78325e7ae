"""Out-of-fold models: where a model that never trained on the sentence
disagrees with the distant label (`folds` command)."""
import numpy
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Detector, Proposals, Suspicion
from spacy_dynclean.evidence.bundle import Evidence


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
