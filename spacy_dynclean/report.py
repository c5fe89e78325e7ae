"""Reports of a cleaning: JSON, a short Markdown summary, and PNG plots."""
from pathlib import Path
from typing import Any, Dict, Optional

import numpy

from .dynamics import Dynamics
from .scores import compute_scores
from .thresholds import threshold_sample_kinds
from .util import PathLike, atomic_open, atomic_path, write_json_atomic


def markdown_summary(report: Dict[str, Any]) -> str:
    """A few lines a person reads first."""
    t = report["thresholds"]

    def fmt(x: Optional[float]) -> str:
        return "none" if x is None else f"{x:.3f}"

    lines = [
        "# spacy-dynclean cleaning report",
        "",
        f"- input: `{report['input']}` -> output: `{report['output']}`",
        f"- samples: {report['samples']:,} ({report['positives']:,} positives, "
        f"{report['negatives']:,} negatives); threshold samples: {report['threshold_samples']:,}",
        f"- method: {t['method']}, ranking: {report['ranking']}, k = {report['k']} epochs",
        f"- thresholds: positives {fmt(t['positive'])}, negatives {fmt(t['negative'])}",
        f"- flagged positives: {report['flagged_positives']:,}; flagged negatives: "
        f"{report['flagged_negatives']:,} ({report['protected_negatives']:,} more spared "
        "for overlapping a distant entity)",
        f"- strategy: {report['strategy']}; docs in: {report['docs_in']:,}, docs out: "
        f"{report['docs_out']:,} (dropped: {report['docs_dropped']:,})",
        f"- gold spans too long to be candidates: {report['gold_spans_too_long']:,}",
    ]
    h = report.get("heldout")
    if h:
        lines.append(
            f"- held-out evidence ({h['dev_docs']:,} dev docs, {h['wrong_forms']:,} forms never right, "
            f"{h['missed_forms']:,} forms missed): flagged {h['flagged_positives']:,} positives "
            f"({h['added_positives']:,} not flagged by the dynamics) and {h['flagged_negatives']:,} negatives "
            f"({h['added_negatives']:,} new); the counts above include them"
        )
    if t.get("positive_per_label"):
        per = ", ".join(f"{k} {fmt(v)}" for k, v in t["positive_per_label"].items())
        lines.append(f"- per-label positive thresholds: {per}")
    for w in report.get("warnings", []):
        lines.append(f"- **warning**: {w}")
    return "\n".join(lines) + "\n"


def write_report(report: Dict[str, Any], json_path: PathLike) -> Path:
    """Write the JSON report and a Markdown twin beside it; return the latter."""
    json_path = Path(json_path)
    write_json_atomic(json_path, report)
    md = json_path.with_suffix(".md")
    with atomic_open(md) as f:
        f.write(markdown_summary(report))
    return md


def plot_dynamics(
    dynamics: Dynamics, output_dir: PathLike, *, threshold_dynamics: Optional[Dynamics] = None,
    thresholds: Optional[Dict[str, Any]] = None, k: Optional[int] = None,
) -> Dict[str, Path]:
    """AUM histograms per kind (real samples vs threshold samples, with the
    threshold lines) and a data map (confidence vs variability)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    scores = compute_scores(dynamics, k)
    real = ~dynamics.threshold
    thr_scores = thr_kinds = None
    if threshold_dynamics is not None:
        thr_scores = compute_scores(threshold_dynamics, k).aum
        thr_kinds = threshold_sample_kinds(threshold_dynamics)
    paths: Dict[str, Path] = {}
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
        if thresholds:
            value = thresholds.get("positive" if is_pos else "negative")
            if value is not None:
                ax.axvline(value, color="k", linestyle="--", label=f"threshold {value:.2f}")
        ax.set_title(kind)
        ax.set_xlabel(f"AUM (first {scores.k} epochs)")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths["aum"] = _save(fig, output_dir / "aum_histograms.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 5))
    rng = numpy.random.default_rng(0)
    for is_pos, color, name in ((False, "tab:blue", "negatives"), (True, "tab:red", "positives")):
        rows = numpy.nonzero(real & (dynamics.positive == is_pos))[0]
        if len(rows) > 20000:
            rows = rng.choice(rows, 20000, replace=False)
        ax.scatter(scores.variability[rows], scores.confidence[rows], s=2, alpha=0.3, c=color, label=name)
    ax.set_xlabel("variability")
    ax.set_ylabel("confidence")
    ax.set_title("data map")
    ax.legend(markerscale=5)
    fig.tight_layout()
    paths["data_map"] = _save(fig, output_dir / "data_map.png")
    plt.close(fig)
    return paths


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path
