"""Compare evaluated pipelines: a Markdown table and a bar chart."""
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from spacy_dynclean.outputs import Outputs
from spacy_dynclean.util import DynCleanError, PathLike, read_json


def read_metrics(spec: str) -> Tuple[str, Dict[str, float]]:
    """`NAME=path.json` (a `spacy evaluate --output` file)."""
    if "=" not in spec:
        raise DynCleanError(f"{spec}: expected NAME=metrics.json")
    name, path = spec.split("=", 1)
    data = read_json(path, "`spacy evaluate` metrics file")
    if not isinstance(data, dict):
        raise DynCleanError(f"{path}: not a `spacy evaluate` metrics file (a JSON object with ents_p, ents_r and "
                            f"ents_f expected, not {type(data).__name__})")
    try:
        values = {k: float(data[k]) for k in ("ents_p", "ents_r", "ents_f")}  # type: ignore[index]
    except (KeyError, TypeError, ValueError) as e:
        raise DynCleanError(f"{path}: not a `spacy evaluate` metrics file (no {e})") from None
    if not all(0.0 <= v <= 1.0 for v in values.values()):
        raise DynCleanError(f"{path}: scores outside 0..1: not a `spacy evaluate` metrics file")
    return name, values


def compare(
    specs: List[str], output: PathLike, *, audit_path: Optional[PathLike] = None,
    plot_path: Optional[PathLike] = None,
) -> str:
    rows = [read_metrics(s) for s in specs]
    if not rows:
        raise DynCleanError("nothing to compare")
    finals = [Path(output)] + ([Path(plot_path)] if plot_path is not None else [])
    inputs = [s.split("=", 1)[1] for s in specs] + ([audit_path] if audit_path is not None else [])
    with Outputs(finals, inputs) as outputs:
        text = compare_table(rows, audit_path)
        outputs.path(output).write_text(text, encoding="utf8")
        if plot_path is not None:
            plot_bars(rows, outputs.path(plot_path))
    return text


def compare_table(rows: List[Tuple[str, Dict[str, float]]], audit_path: Optional[PathLike]) -> str:
    """The Markdown table (and the audit's lines when there is an audit)."""
    base_name, base = rows[0]
    lines = ["| model | P | R | F1 | F1 gain over " + base_name + " |", "| --- | --- | --- | --- | --- |"]
    for name, m in rows:
        gain = m["ents_f"] - base["ents_f"]
        lines.append(f"| {name} | {m['ents_p']:.3f} | {m['ents_r']:.3f} | {m['ents_f']:.3f} | {gain:+.3f} |")
    if audit_path is not None and Path(audit_path).exists():
        a = read_json(audit_path, "audit file")
        if not isinstance(a, dict) or not (a.get("skipped") or "fp_precision" in a):
            raise DynCleanError(f"{audit_path}: not an audit file")
        if a.get("skipped"):
            lines += ["", f"Audit skipped: {a['skipped']}"]
        else:
            lines += [
                "",
                "| audit (train labels vs gold) | precision | recall | flagged |",
                "| --- | --- | --- | --- |",
                f"| false positives found | {a['fp_precision']:.3f} | {a['fp_recall']:.3f} | {a['flagged_positives']:,} |",
                f"| missed entities found | {a['fn_precision']:.3f} | {a['fn_recall']:.3f} | {a['flagged_negatives']:,} |",
                "",
                f"Label F1 against gold: distant {a['labels_f1_before']:.3f}, cleaned {a['labels_f1_after']:.3f} "
                "(tokens masked by cleaning excluded).",
            ]
    return "\n".join(lines) + "\n"


def plot_bars(rows: List[Tuple[str, Dict[str, float]]], path: Path) -> None:
    """P, R and F1 bars per model, as PNG to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.6 * len(rows) + 2, 3.5))
    width = 0.25
    for j, key in enumerate(("ents_p", "ents_r", "ents_f")):
        xs = [i + (j - 1) * width for i in range(len(rows))]
        ax.bar(xs, [m[key] for _, m in rows], width, label=key[5:].upper())
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([n for n, _ in rows])
    ax.set_ylim(0, 1)
    ax.set_ylabel("test entity score")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
