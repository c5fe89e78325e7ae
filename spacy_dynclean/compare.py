"""Compare evaluated pipelines: a Markdown table and a bar chart."""
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import srsly

from .util import DynCleanError, PathLike, atomic_open, atomic_path


def read_metrics(spec: str) -> Tuple[str, Dict[str, float]]:
    """`NAME=path.json` (a `spacy evaluate --output` file)."""
    if "=" not in spec:
        raise DynCleanError(f"{spec}: expected NAME=metrics.json")
    name, path = spec.split("=", 1)
    p = Path(path)
    if not p.exists():
        raise DynCleanError(f"{p}: no such file")
    try:
        data = srsly.read_json(p)
        return name, {k: float(data[k]) for k in ("ents_p", "ents_r", "ents_f")}
    except (ValueError, KeyError, TypeError) as e:
        raise DynCleanError(f"{p}: not a `spacy evaluate` metrics file ({e})") from None


def compare(
    specs: List[str], output: PathLike, *, audit_path: Optional[PathLike] = None,
    plot_path: Optional[PathLike] = None,
) -> str:
    rows = [read_metrics(s) for s in specs]
    if not rows:
        raise DynCleanError("nothing to compare")
    base_name, base = rows[0]
    lines = ["| model | P | R | F1 | F1 gain over " + base_name + " |", "| --- | --- | --- | --- | --- |"]
    for name, m in rows:
        gain = m["ents_f"] - base["ents_f"]
        lines.append(f"| {name} | {m['ents_p']:.3f} | {m['ents_r']:.3f} | {m['ents_f']:.3f} | {gain:+.3f} |")
    if audit_path is not None and Path(audit_path).exists():
        a = srsly.read_json(audit_path)
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
    text = "\n".join(lines) + "\n"
    with atomic_open(output) as f:
        f.write(text)
    if plot_path is not None:
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
        with atomic_path(plot_path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
    return text
