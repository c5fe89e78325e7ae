"""AUM with automatic thresholds (Pleiss et al. 2020; DynClean): samples whose
area under the margin over the first k epochs lies below their kind's
threshold, from the threshold-sample run, a mixture or a fixed fraction."""
from functools import partial
from typing import Union

import numpy
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Detector, Suspicion, check_k, check_range, validate_k
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.evidence.scores import RANKINGS, compute_scores
from spacy_dynclean.evidence.thresholds import (METHODS, Thresholds, from_fraction, from_mixture,
                                                from_threshold_samples)
from spacy_dynclean.util import DynCleanError



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
        return evidence.once(("aum_thresholds", k, positive_percentile, negative_percentile, per_label, ranking),
                             lambda: from_threshold_samples(threshold, k=k, positive_percentile=positive_percentile,
                                                            negative_percentile=negative_percentile,
                                                            per_label=per_label, ranking=ranking))
    evidence.whole(f"[detectors] aum method {method!r} (it reads every sample's score)")
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
    k_used = evidence.k_of(k)
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


