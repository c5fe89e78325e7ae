"""Reports of a cleaning: a short Markdown summary of the JSON report, and
PNG plots of the dynamics (AUM histograms and a data map)."""
from typing import Any, Dict, List, Optional

import numpy

from .dynamics import Dynamics
from .scores import compute_scores
from .thresholds import threshold_sample_kinds
from .util import PathLike


def markdown_summary(report: Dict[str, Any]) -> str:
    """A few lines a person reads first."""

    def fmt(x: Optional[float]) -> str:
        return "none" if x is None else f"{x:.3f}"

    lines = [
        "# spacy-dynclean cleaning report",
        "",
        f"- input: `{report['input']}` -> output: `{report['output']}` (config `{report['config']}`)",
        f"- samples: {report['samples']:,} ({report['positives']:,} positives, "
        f"{report['negatives']:,} negatives); epochs recorded: {report['epochs_recorded']}",
    ]
    for name, d in report.get("detectors", {}).items():
        extra = ""
        t = d.get("thresholds")
        if t:
            extra = f"; k = {d.get('k')}, thresholds: positives {fmt(t.get('positive'))}, " \
                    f"negatives {fmt(t.get('negative'))}"
        lines.append(f"- detector `{name}`: {d['flagged_positives']:,} positives, {d['flagged_negatives']:,} "
                     f"negatives flagged{extra}")
    dec = report.get("decision", {})
    lines += [
        f"- decision: positives from {dec.get('positives')} ({dec.get('positive_rule')}), negatives from "
        f"{dec.get('negatives')} ({dec.get('negative_rule')})",
        *trusted_line(dec),
        f"- flagged positives: {report['flagged_positives']:,}; flagged negatives: "
        f"{report['flagged_negatives']:,} ({report['protected_negatives']:,} more spared "
        "for overlapping a distant entity)",
        f"- strategy: {report.get('strategy')}; docs in: {report['docs_in']:,}, docs out: "
        f"{report['docs_out']:,} (dropped: {report['docs_dropped']:,})",
    ]
    changes = report.get("changes")
    if changes:
        lines.append("- changes: " + ", ".join(f"{k} {v:,}" for k, v in changes.items()))
    lines.append(f"- entities of the training labels too long to be candidates: {report['entities_too_long']:,}")
    for w in report.get("warnings", []):
        lines.append(f"- **warning**: {w}")
    return "\n".join(lines) + "\n"


def trusted_line(decision: Dict[str, Any]) -> List[str]:
    """The signals the decision trusted on this corpus, where a detector abstained."""
    trusted = decision.get("trusted") or {}
    abstained = [n for kind in ("positives", "negatives") for n in decision.get(kind) or []
                 if n not in trusted.get(kind, [])]
    if not abstained:
        return []
    return [f"- signals trusted on this corpus: positives from {trusted.get('positives')}, negatives from "
            f"{trusted.get('negatives')} ({', '.join(sorted(set(abstained)))} abstained)"]


def _aum_thresholds(clean_report: Optional[Dict[str, Any]]) -> Dict[str, Optional[float]]:
    """The AUM thresholds of a clean report (from its first detector that has some)."""
    for d in (clean_report or {}).get("detectors", {}).values():
        if d.get("thresholds"):
            return d["thresholds"]
    return {}


def plot_dynamics(
    dynamics: Dynamics, aum_path: PathLike, map_path: PathLike, *, threshold_dynamics: Optional[Dynamics] = None,
    clean_report: Optional[Dict[str, Any]] = None, k: Optional[int] = None,
) -> None:
    """AUM histograms per kind (real samples vs threshold samples, with the
    threshold lines) and a data map over every recorded epoch (confidence
    against variability; against the margin when one epoch was recorded),
    kept and flagged samples apart when a clean report gives the flags.
    The PNGs go to `aum_path` and `map_path` (temporary paths of a
    transaction: the format is given, not read from the suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = compute_scores(dynamics, k)
    thresholds = _aum_thresholds(clean_report)
    real = ~dynamics.threshold
    flagged = numpy.zeros(len(dynamics), dtype=bool)
    rows = (clean_report or {}).get("flagged_rows", {})
    for kind in ("positives", "negatives"):
        flagged[numpy.asarray(rows.get(kind, []), dtype="int64")] = True
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
    fig.savefig(aum_path, format="png", dpi=110)
    plt.close(fig)

    every = compute_scores(dynamics, None)  # the data map reads every recorded epoch
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
    fig.savefig(map_path, format="png", dpi=110)
    plt.close(fig)
