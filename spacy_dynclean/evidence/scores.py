"""Per-sample scores from recorded dynamics: AUM and the data-map measures."""
from dataclasses import dataclass
from typing import Union

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


def auto_k(dynamics: Dynamics, min_fit: float = 0.5) -> int:
    """The end of early learning: the first recorded epoch after which at
    least `min_fit` of the distant entities are predicted as their own label
    (all epochs if that never happens): margins recorded before a model has
    learned anything carry no signal, and a slow backbone on a small corpus
    takes many epochs to get there."""
    positive = dynamics.positive & ~dynamics.threshold
    if dynamics.n_epochs == 0:
        raise DynCleanError("the dynamics hold no completed epoch")
    if not positive.any():
        return dynamics.n_epochs
    fit = (dynamics.epochs_of("margins", None, positive) > 0).mean(axis=0)
    reached = numpy.nonzero(fit >= min_fit)[0]
    return int(reached[0]) + 1 if len(reached) else dynamics.n_epochs


def resolve_k(dynamics: Dynamics, k: Union[int, str, None]) -> int:
    """k as given (None or 0: all recorded epochs; "auto": `auto_k`)."""
    if k == "auto":
        return auto_k(dynamics)
    if k is None or k == 0:
        return dynamics.n_epochs
    if not isinstance(k, int) or k < 1:
        raise DynCleanError(f"k (epochs averaged) must be 'auto', 0 or a positive number, not {k!r}")
    return min(k, dynamics.n_epochs)


def compute_scores(dynamics: Dynamics, k: Union[int, str, None] = None) -> SampleScores:
    """Scores over the first k epochs (see `resolve_k`)."""
    if dynamics.n_epochs == 0:
        raise DynCleanError("the dynamics hold no completed epoch")
    k = resolve_k(dynamics, k)
    margins = dynamics.epochs_of("margins", k)
    probs = dynamics.epochs_of("probs", k).astype("float32")
    return SampleScores(
        k=k,
        aum=margins.mean(axis=1),
        confidence=probs.mean(axis=1),
        variability=probs.std(axis=1),
        correctness=(margins > 0).mean(axis=1),
    )
