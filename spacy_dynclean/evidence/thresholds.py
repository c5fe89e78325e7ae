"""Decide where suspect samples start: one threshold per kind (positives:
distant entities; negatives: non-entity spans), or per label for positives.

A sample is flagged when its score (AUM by default) is *below* its threshold.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy

from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.recording.samples import FLAG_THRESHOLD
from spacy_dynclean.evidence.scores import compute_scores
from spacy_dynclean.util import DynCleanError

METHODS = ("threshold-samples", "mixture", "fraction")


@dataclass
class Thresholds:
    """Score cut-offs; `-inf` flags nothing."""

    method: str
    positive: float
    negative: float
    positive_per_label: Dict[str, float] = field(default_factory=dict)
    details: Dict[str, object] = field(default_factory=dict)

    def for_positives(self, labels: List[str], label_col: numpy.ndarray) -> numpy.ndarray:
        """Threshold of each positive sample given its label column."""
        table = numpy.array([self.positive_per_label.get(label, self.positive) for label in labels])
        return table[label_col]

    def to_dict(self) -> Dict[str, object]:
        return {
            "method": self.method,
            "positive": _finite(self.positive),
            "negative": _finite(self.negative),
            "positive_per_label": {k: _finite(v) for k, v in self.positive_per_label.items()},
            **self.details,
        }


def _finite(x: float) -> Optional[float]:
    return float(x) if numpy.isfinite(x) else None


def percentile_threshold(values: numpy.ndarray, percentile: float) -> float:
    """The p-th percentile of the threshold samples' scores (`-inf` if none)."""
    if not 0 <= percentile <= 100:
        raise DynCleanError(f"percentile must be in 0..100, not {percentile}")
    if len(values) == 0:
        return float("-inf")
    return float(numpy.percentile(values, percentile))


def threshold_sample_kinds(dynamics: Dynamics, rows: Any = None) -> numpy.ndarray:
    """Which kind a threshold sample calibrates: True = positives.

    A sample trained with the fake class calibrates the kind it came from
    (DynClean); one trained with an existing label calibrates the kind of
    that label: a former entity relabelled non-entity looks like a missed
    entity, so it calibrates negatives. Of every sample, or of `rows`.
    """
    n_labels = len(dynamics.labels)
    assigned = dynamics.assigned if rows is None else dynamics.assigned[rows]
    label = dynamics.label if rows is None else dynamics.label[rows]
    return numpy.where(assigned > n_labels, label < n_labels, assigned < n_labels)


def from_threshold_samples(
    threshold_dynamics: Dynamics, *, k: Optional[int], positive_percentile: float,
    negative_percentile: float, per_label: bool = False, ranking: str = "aum",
) -> Thresholds:
    """Percentiles of the threshold samples' scores, per kind (and label)."""
    rows = threshold_dynamics.flagged_rows(FLAG_THRESHOLD)  # read those rows alone: the run may be large
    if not len(rows):
        raise DynCleanError(
            "the threshold dynamics hold no threshold samples: train with "
            "--components.dynclean_ner.threshold_samples true"
        )
    scores = compute_scores(threshold_dynamics, k, rows).ranking(ranking)
    n_labels = len(threshold_dynamics.labels)
    assigned, label = threshold_dynamics.assigned[rows], threshold_dynamics.label[rows]
    kinds = threshold_sample_kinds(threshold_dynamics, rows)
    pos_vals = scores[kinds]
    neg_vals = scores[~kinds]
    per: Dict[str, float] = {}
    if per_label:
        col = numpy.where(assigned > n_labels, label, assigned)
        for j, name in enumerate(threshold_dynamics.labels):
            vals = scores[kinds & (col == j)]
            if len(vals):
                per[name] = percentile_threshold(vals, positive_percentile)
    threshold_dynamics.release()  # the pages those rows were read from
    return Thresholds(
        method="threshold-samples",
        positive=percentile_threshold(pos_vals, positive_percentile),
        negative=percentile_threshold(neg_vals, negative_percentile),
        positive_per_label=per,
        details={
            "positive_percentile": positive_percentile,
            "negative_percentile": negative_percentile,
            "threshold_positives": int(len(pos_vals)),
            "threshold_negatives": int(len(neg_vals)),
            "threshold_label": threshold_dynamics.meta.get("settings", {}).get("threshold_label"),
        },
    )


def gaussian_mixture_2(values: numpy.ndarray, n_iter: int = 200, seed: int = 0):
    """Fit a two-component 1-D Gaussian mixture by EM; returns (weights,
    means, stds), components sorted by mean."""
    x = numpy.asarray(values, dtype="float64")
    if len(x) < 2 or numpy.all(x == x[0]):
        raise DynCleanError("a mixture needs at least two distinct scores")
    lo, hi = numpy.percentile(x, [10, 90])
    means = numpy.array([lo, hi])
    stds = numpy.full(2, x.std() / 2 + 1e-6)
    weights = numpy.array([0.5, 0.5])
    for _ in range(n_iter):
        dens = weights * numpy.exp(-0.5 * ((x[:, None] - means) / stds) ** 2) / stds
        resp = dens / numpy.maximum(dens.sum(axis=1, keepdims=True), 1e-300)
        nk = resp.sum(axis=0) + 1e-12
        new_means = (resp * x[:, None]).sum(axis=0) / nk
        stds = numpy.sqrt((resp * (x[:, None] - new_means) ** 2).sum(axis=0) / nk) + 1e-6
        weights = nk / len(x)
        if numpy.allclose(new_means, means, atol=1e-8):
            means = new_means
            break
        means = new_means
    order = numpy.argsort(means)
    return weights[order], means[order], stds[order]


def mixture_threshold(values: numpy.ndarray) -> float:
    """Score below which the low component of a 2-Gaussian mixture is the
    more likely one (`-inf` when it never is below the high mean)."""
    weights, means, stds = gaussian_mixture_2(values)
    grid = numpy.linspace(values.min(), means[1], 2000)
    dens = weights * numpy.exp(-0.5 * ((grid[:, None] - means) / stds) ** 2) / stds
    low_wins = dens[:, 0] > dens[:, 1]
    if not low_wins[0]:
        return float("-inf")
    crossing = int(numpy.argmax(~low_wins)) if (~low_wins).any() else len(grid) - 1
    return float(grid[crossing])


def from_mixture(scores: numpy.ndarray, positive: numpy.ndarray, candidates: numpy.ndarray) -> Thresholds:
    """A two-component mixture over each kind's scores (no threshold run)."""
    pos = scores[positive & candidates]
    neg = scores[~positive & candidates]
    return Thresholds(
        method="mixture",
        positive=mixture_threshold(pos) if len(pos) > 1 else float("-inf"),
        negative=mixture_threshold(neg) if len(neg) > 1 else float("-inf"),
    )


def from_fraction(
    scores: numpy.ndarray, positive: numpy.ndarray, candidates: numpy.ndarray, *,
    positive_fraction: float, negative_fraction: float,
) -> Thresholds:
    """Flag a fixed fraction of each kind: the lowest-scoring ones."""
    for name, f in (("positive_fraction", positive_fraction), ("negative_fraction", negative_fraction)):
        if not 0 <= f <= 1:
            raise DynCleanError(f"{name} must be in 0..1, not {f}")

    def cut(vals: numpy.ndarray, f: float) -> float:
        n = int(round(f * len(vals)))
        if n == 0:
            return float("-inf")
        return float(numpy.partition(vals, n - 1)[n - 1]) + 1e-9 if n < len(vals) else float("inf")

    return Thresholds(
        method="fraction",
        positive=cut(scores[positive & candidates], positive_fraction),
        negative=cut(scores[~positive & candidates], negative_fraction),
        details={"positive_fraction": positive_fraction, "negative_fraction": negative_fraction},
    )
