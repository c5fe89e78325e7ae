"""Per-sample scores from recorded dynamics: AUM and the data-map measures."""
from dataclasses import dataclass
from typing import Any, Tuple, Union

import numpy

from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.util import DynCleanError

RANKINGS = ("aum", "confidence", "correctness")


@dataclass
class SampleScores:
    """One value per sample, over the first `k` recorded epochs.

    aum: mean margin of the assigned label; confidence: mean probability of
    the assigned label; variability: its standard deviation; correctness: the
    share of epochs whose argmax was the assigned label (margin > 0).
    """

    k: int
    aum: numpy.ndarray
    confidence: numpy.ndarray
    variability: numpy.ndarray
    correctness: numpy.ndarray

    def ranking(self, name: str) -> numpy.ndarray:
        """The score to rank by (low = suspect)."""
        if name not in RANKINGS:
            raise DynCleanError(f"ranking must be one of {RANKINGS}, not {name!r}")
        return getattr(self, name)


def fit_counts(dynamics: Dynamics) -> Tuple[numpy.ndarray, int]:
    """Per recorded epoch, how many distant entities are predicted as their
    own label (margin above 0), and how many distant entities there are:
    what `auto_k` reads, a sum over docs."""
    positive = dynamics.positive & ~dynamics.threshold
    if dynamics.n_epochs == 0:
        raise DynCleanError("the dynamics hold no completed epoch")
    fit = (dynamics.epochs_of("margins", None, positive) > 0).sum(axis=0).astype("int64")
    return fit, int(positive.sum())


def k_from_fit(fit: numpy.ndarray, n_positive: int, n_epochs: int, min_fit: float = 0.5) -> int:
    """`auto_k` from `fit_counts` (over the whole corpus)."""
    if not n_positive:
        return n_epochs
    reached = numpy.nonzero(fit / n_positive >= min_fit)[0]
    return int(reached[0]) + 1 if len(reached) else n_epochs


def auto_k(dynamics: Dynamics, min_fit: float = 0.5) -> int:
    """The end of early learning: the first recorded epoch after which at
    least `min_fit` of the distant entities are predicted as their own label
    (all epochs if that never happens): margins recorded before a model has
    learned anything carry no signal, and a slow backbone on a small corpus
    takes many epochs to get there."""
    return k_from_fit(*fit_counts(dynamics), dynamics.n_epochs, min_fit)


def resolve_k(dynamics: Dynamics, k: Union[int, str, None]) -> int:
    """k as given (None or 0: all recorded epochs; "auto": `auto_k`)."""
    if k == "auto":
        return auto_k(dynamics)
    if k is None or k == 0:
        return dynamics.n_epochs
    if not isinstance(k, int) or k < 1:
        raise DynCleanError(f"k (epochs averaged) must be 'auto', 0 or a positive number, not {k!r}")
    return min(k, dynamics.n_epochs)


def compute_scores(dynamics: Dynamics, k: Union[int, str, None] = None, rows: Any = None) -> SampleScores:
    """Scores over the first k epochs (see `resolve_k`), of every sample or of `rows`."""
    if dynamics.n_epochs == 0:
        raise DynCleanError("the dynamics hold no completed epoch")
    k = resolve_k(dynamics, k)
    margins = dynamics.epochs_of("margins", k, rows)
    probs = dynamics.epochs_of("probs", k, rows).astype("float32")
    return SampleScores(
        k=k,
        aum=margins.mean(axis=1),
        confidence=probs.mean(axis=1),
        variability=probs.std(axis=1),
        correctness=(margins > 0).mean(axis=1),
    )
