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
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Union

import numpy
from spacy.util import registry

from .evidence import Evidence
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
    `proposals` suggested spans."""

    positive: numpy.ndarray
    negative: numpy.ndarray
    score: numpy.ndarray
    label: Optional[numpy.ndarray] = None
    proposals: Proposals = field(default_factory=Proposals.empty)
    details: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

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
                      negatives: bool = True, min_missed_share: float = 0.5) -> Suspicion:
    """Distant entities whose (text, label) the recording run's pipeline
    predicted on a gold dev set and never got right, and non-entity spans
    whose text is a dev entity it missed (see `heldout`)."""
    from .heldout import flag_forms

    forms = evidence.require("heldout")
    samples = evidence.samples
    pos, neg = flag_forms(samples, evidence.docs, forms, min_predicted=min_predicted, max_precision=max_precision,
                          negatives=negatives, min_missed_share=min_missed_share)
    return Suspicion(
        positive=pos, negative=neg, score=numpy.where(pos | neg, 1.0, numpy.nan).astype("float32"),
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
