"""Per-sample scores from recorded dynamics: AUM and the data-map measures."""
from dataclasses import dataclass
from typing import Optional

import numpy

from .dynamics import Dynamics
from .util import DynCleanError

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


def compute_scores(dynamics: Dynamics, k: Optional[int] = None) -> SampleScores:
    """Scores over the first k epochs (all when None or larger than recorded)."""
    if dynamics.n_epochs == 0:
        raise DynCleanError("the dynamics hold no completed epoch")
    if k is not None and k < 1:
        raise DynCleanError(f"k (epochs averaged) must be at least 1, not {k}")
    k = dynamics.n_epochs if k is None else min(k, dynamics.n_epochs)
    margins = dynamics.margins[:, :k]
    probs = dynamics.probs[:, :k].astype("float32")
    return SampleScores(
        k=k,
        aum=margins.mean(axis=1),
        confidence=probs.mean(axis=1),
        variability=probs.std(axis=1),
        correctness=(margins > 0).mean(axis=1),
    )
