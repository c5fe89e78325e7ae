"""PNG plots of the recorded dynamics: AUM histograms per kind and a data map."""
from pathlib import Path
from typing import Any, Dict, Optional

import numpy
from wasabi import msg

from spacy_dynclean.evidence.bundle import check_pair
from spacy_dynclean.evidence.scores import compute_scores
from spacy_dynclean.evidence.thresholds import threshold_sample_kinds
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.outputs import Outputs
from spacy_dynclean.util import DynCleanError, PathLike, read_json

def _aum_thresholds(clean_report: Optional[Dict[str, Any]]) -> Dict[str, Optional[float]]:
    """The AUM thresholds of a clean report (from its first detector that has some)."""
    for d in (clean_report or {}).get("detectors", {}).values():
        if d.get("thresholds"):
            return d["thresholds"]
    return {}


def plot_histograms(plt: Any, dynamics: Dynamics, path: PathLike, *, threshold_dynamics: Optional[Dynamics],
                    thresholds: Dict[str, Optional[float]], k: Optional[int]) -> None:
    """AUM histograms per kind: real samples vs threshold samples, with the threshold lines."""
    scores = compute_scores(dynamics, k)
    real = ~dynamics.threshold
    thr_scores = thr_kinds = None
    if threshold_dynamics is not None:
        thr_scores = compute_scores(threshold_dynamics, k).aum
        thr_kinds = threshold_sample_kinds(threshold_dynamics)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, kind, is_pos in ((axes[0], "positives (entity spans)", True), (axes[1], "negatives (non-entity spans)", False)):
        mask = real & (dynamics.positive == is_pos)
        vals = scores.aum[mask]
        bins = numpy.linspace(min(vals.min(initial=0), -6), max(vals.max(initial=0), 6), 60)
        ax.hist(vals, bins=bins, alpha=0.6, density=True, label=f"real ({mask.sum():,})")
        if thr_scores is not None and threshold_dynamics is not None and thr_kinds is not None:
            tmask = threshold_dynamics.threshold & (thr_kinds == is_pos)
            ax.hist(thr_scores[tmask], bins=bins, alpha=0.6, density=True,
                    label=f"threshold samples ({tmask.sum():,})")
        value = thresholds.get("positive" if is_pos else "negative")
        if value is not None:
            ax.axvline(value, color="k", linestyle="--", label=f"threshold {value:.2f}")
        ax.set_title(kind)
        ax.set_xlabel(f"AUM (first {scores.k} epochs)")
        ax.set_ylabel("density (log scale)")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def plot_data_map(plt: Any, dynamics: Dynamics, path: PathLike, flagged: numpy.ndarray) -> None:
    """A data map over every recorded epoch (confidence against variability;
    against the margin when one epoch was recorded), kept and flagged apart."""
    real = ~dynamics.threshold
    every = compute_scores(dynamics, None)
    one_epoch = every.k < 2
    x = every.aum if one_epoch else every.variability
    fig, ax = plt.subplots(figsize=(6, 5))
    rng = numpy.random.default_rng(0)
    groups = [(real & ~dynamics.positive & ~flagged, "tab:blue", "negatives, kept"),
              (real & dynamics.positive & ~flagged, "tab:green", "positives, kept"),
              (real & ~dynamics.positive & flagged, "tab:orange", "negatives, flagged"),
              (real & dynamics.positive & flagged, "tab:red", "positives, flagged")]
    for mask, color, name in groups:
        idx = numpy.nonzero(mask)[0]
        if not len(idx):
            continue
        if len(idx) > 20000:
            idx = rng.choice(idx, 20000, replace=False)
        ax.scatter(x[idx], every.confidence[idx], s=2, alpha=0.3, c=color, label=f"{name} ({mask.sum():,})")
    ax.set_xlabel("margin (one epoch recorded)" if one_epoch else f"variability over {every.k} epochs")
    ax.set_ylabel(f"confidence (mean over {every.k} epoch{'s' if every.k > 1 else ''})")
    ax.set_title("data map" + (" (one epoch: margin instead of variability)" if one_epoch else ""))
    ax.legend(markerscale=5, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def plot_dynamics(
    dynamics: Dynamics, aum_path: PathLike, map_path: PathLike, *, threshold_dynamics: Optional[Dynamics] = None,
    clean_report: Optional[Dict[str, Any]] = None, k: Optional[int] = None,
) -> None:
    """AUM histograms per kind and a data map, kept and flagged samples apart
    when a clean report gives the flags. The PNGs go to `aum_path` and
    `map_path` (temporary paths of a transaction: the format is given, not
    read from the suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flagged = numpy.zeros(len(dynamics), dtype=bool)
    rows = (clean_report or {}).get("flagged_rows", {})
    for kind in ("positives", "negatives"):
        flagged[numpy.asarray(rows.get(kind, []), dtype="int64")] = True
    plot_histograms(plt, dynamics, aum_path, threshold_dynamics=threshold_dynamics,
                    thresholds=_aum_thresholds(clean_report), k=k)
    plot_data_map(plt, dynamics, map_path, flagged)


def run_report(dynamics: Path, output_dir: Path, *, threshold_dynamics: Optional[Path] = None,
               clean_report: Optional[Path] = None, k: Optional[int] = None) -> None:
    """`report`: aum_histograms.png and data_map.png in `output_dir`,
    written together; the flags and k from a clean report where given."""
    dyn = Dynamics.from_disk(dynamics)
    thr = Dynamics.from_disk(threshold_dynamics) if threshold_dynamics else None
    if thr is not None:
        check_pair(dyn, thr, str(threshold_dynamics))
    data: Optional[Dict[str, Any]] = None
    if clean_report is not None:
        loaded = read_json(clean_report, "clean report")
        if not isinstance(loaded, dict) or "detectors" not in loaded or "flagged_rows" not in loaded:
            raise DynCleanError(f"{clean_report}: not a clean report (no detectors or flagged rows)")
        data = loaded
        if k is None:
            k = next((d.get("k") for d in data["detectors"].values() if d.get("k")), None)
        n_rows = max((max(v, default=-1) for v in data["flagged_rows"].values()), default=-1)
        if n_rows >= len(dyn):
            raise DynCleanError(f"{clean_report}: flags rows beyond the {len(dyn):,} samples of {dynamics}")
    if k is not None and not 1 <= k <= dyn.n_epochs:
        raise DynCleanError(f"--k must be in 1..{dyn.n_epochs} (the epochs recorded in {dynamics}), not {k}")
    finals = [output_dir / "aum_histograms.png", output_dir / "data_map.png"]
    inputs = [dynamics, threshold_dynamics, clean_report]
    with Outputs(finals, inputs) as outputs:
        plot_dynamics(dyn, outputs.path(finals[0]), outputs.path(finals[1]), threshold_dynamics=thr,
                      clean_report=data, k=k)
    for path in finals:
        msg.good(f"Wrote {path}")
