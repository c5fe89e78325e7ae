"""`python -m spacy_dynclean ...`: convert, clean, audit, report.

Every command turns a `DynCleanError` (bad input, mismatched files) into one
line on stderr and exit code 1, without a traceback.
"""
import functools
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from wasabi import msg

from .clean import CleanSettings
from .util import DEFAULT_SPANS_KEY, DynCleanError, check_not_input

app = typer.Typer(
    name="spacy_dynclean", add_completion=False, no_args_is_help=True,
    help="Clean distantly supervised NER data by its training dynamics.",
)


@app.callback()
def _group() -> None:
    """Clean distantly supervised NER data by its training dynamics."""


def handle_errors(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DynCleanError as e:
            typer.echo(f"✘ {e}", err=True)  # one line, never wrapped
            sys.exit(1)

    return wrapper


@app.command("convert")
@handle_errors
def convert_cli(
    input_path: Path = typer.Argument(..., help="DS-NER JSON / JSON lines, CoNLL/IOB columns, or a .spacy DocBin"),
    output_path: Path = typer.Argument(..., help="Output DocBin (.spacy)"),
    fmt: str = typer.Option("auto", "--format", "-f", help="auto, json, conll or docbin"),
    spans_key: str = typer.Option(DEFAULT_SPANS_KEY, "--spans-key", help="Span group that also holds the entities"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip bad records (counted) instead of failing"),
) -> None:
    """Convert NER data to a DocBin with doc.ents, a span group and stable doc ids."""
    from .convert import convert

    stats = convert(input_path, output_path, fmt=fmt, spans_key=spans_key, skip_invalid=skip_invalid)
    if stats.skipped:
        msg.warn(f"Skipped {len(stats.skipped)} of {stats.records} records")
        for line in stats.skipped[:10]:
            msg.text(f"  {line}")
    msg.good(f"Wrote {stats.docs} docs with {stats.entities} entities to {output_path}")


@app.command("clean")
@handle_errors
def clean_cli(
    corpus: Path = typer.Argument(..., help="Training DocBin the dynamics were recorded on (never modified)"),
    dynamics: Path = typer.Argument(..., help="Dynamics directory of the run without threshold samples"),
    output: Path = typer.Argument(..., help="Cleaned DocBin to write"),
    threshold_dynamics: Optional[Path] = typer.Option(None, "--threshold-dynamics", "-t", help="Dynamics directory of the threshold-sample run"),
    report: Optional[Path] = typer.Option(None, "--report", help="JSON report (default: OUTPUT.report.json, plus .md)"),
    method: str = typer.Option(CleanSettings.method, "--method", help="threshold-samples, mixture or fraction"),
    ranking: str = typer.Option(CleanSettings.ranking, "--ranking", help="aum, confidence or correctness"),
    k: Optional[int] = typer.Option(CleanSettings.k, "--k", help="Epochs averaged (default: all recorded)"),
    positive_percentile: float = typer.Option(CleanSettings.positive_percentile, "--pos-percentile", help="Percentile of positive threshold samples"),
    negative_percentile: float = typer.Option(CleanSettings.negative_percentile, "--neg-percentile", help="Percentile of negative threshold samples"),
    per_label: bool = typer.Option(CleanSettings.per_label, "--per-label/--no-per-label", help="Per-label thresholds for positives"),
    positive_fraction: float = typer.Option(CleanSettings.positive_fraction, "--pos-fraction", help="method=fraction: share of positives to flag"),
    negative_fraction: float = typer.Option(CleanSettings.negative_fraction, "--neg-fraction", help="method=fraction: share of negatives to flag"),
    protect_overlaps: bool = typer.Option(CleanSettings.protect_overlaps, "--protect-overlaps/--no-protect-overlaps", help="Never flag a negative that overlaps a distant entity"),
    max_label_fraction: Optional[float] = typer.Option(CleanSettings.max_label_fraction, "--max-label-fraction", help="Cap on the flagged share of a label's positives"),
    strategy: str = typer.Option(CleanSettings.strategy, "--strategy", help="remove (mask) or relabel (use the model's stable prediction)"),
    clean_positives: bool = typer.Option(CleanSettings.clean_positives, "--positives/--no-positives", help="Flag positives (suspected false positives)"),
    clean_negatives: bool = typer.Option(CleanSettings.clean_negatives, "--negatives/--no-negatives", help="Flag negatives (suspected missed entities)"),
) -> None:
    """Flag suspect samples by their dynamics and write a cleaned DocBin and a report."""
    from .clean import run_clean

    settings = CleanSettings(
        method=method, ranking=ranking, k=k, positive_percentile=positive_percentile,
        negative_percentile=negative_percentile, per_label=per_label,
        positive_fraction=positive_fraction, negative_fraction=negative_fraction,
        protect_overlaps=protect_overlaps, max_label_fraction=max_label_fraction,
        strategy=strategy, clean_positives=clean_positives, clean_negatives=clean_negatives,
    )
    run_clean(corpus, dynamics, output, threshold_dir=threshold_dynamics, report_path=report, settings=settings)


@app.command("audit")
@handle_errors
def audit_cli(
    distant: Path = typer.Argument(..., help="Distant-label DocBin (the input of clean)"),
    cleaned: Path = typer.Argument(..., help="Cleaned DocBin (the output of clean)"),
    gold: Path = typer.Argument(..., help="Gold-label DocBin of the same sentences"),
    output: Path = typer.Option(..., "--output", "-o", help="JSON file to write"),
    max_span_length: int = typer.Option(8, "--max-span-length", help="Longest candidate span"),
    spans_key: str = typer.Option(DEFAULT_SPANS_KEY, "--spans-key"),
) -> None:
    """Compare distant, cleaned and gold labels of the same sentences."""
    from .audit import audit
    from .convert import read_docbin
    from .util import write_json_atomic

    for p in (distant, cleaned, gold):
        check_not_input(output, p)
    docs = [read_docbin(p) for p in (distant, cleaned, gold)]
    for p, d in zip((distant, gold), (docs[0], docs[2])):
        if not d:
            raise DynCleanError(f"{p}: empty corpus")
    result = audit(*docs, max_span_length=max_span_length, spans_key=spans_key)
    write_json_atomic(output, result)
    msg.table(
        [
            ("false positives found", f"{result['fp_precision']:.3f}", f"{result['fp_recall']:.3f}",
             f"{result['flagged_positives']:,} flagged / {result['real_false_positives']:,} real"),
            ("missed entities found", f"{result['fn_precision']:.3f}", f"{result['fn_recall']:.3f}",
             f"{result['flagged_negatives']:,} flagged / {result['real_false_negatives']:,} real"),
        ],
        header=("detection", "precision", "recall", "counts"),
    )
    msg.info(f"label F1 vs gold: distant {result['labels_f1_before']:.3f} -> cleaned {result['labels_f1_after']:.3f}")
    msg.good(f"Wrote {output}")


@app.command("report")
@handle_errors
def report_cli(
    dynamics: Path = typer.Argument(..., help="Dynamics directory"),
    output_dir: Path = typer.Argument(..., help="Folder for the PNGs"),
    threshold_dynamics: Optional[Path] = typer.Option(None, "--threshold-dynamics", "-t"),
    clean_report: Optional[Path] = typer.Option(None, "--clean-report", help="JSON report of clean, for the threshold lines"),
    k: Optional[int] = typer.Option(None, "--k", help="Epochs averaged"),
) -> None:
    """Draw AUM histograms (real vs threshold samples, with thresholds) and a data map."""
    import srsly

    from .dynamics import Dynamics
    from .report import plot_dynamics

    dyn = Dynamics.from_disk(dynamics)
    thr = Dynamics.from_disk(threshold_dynamics) if threshold_dynamics else None
    thresholds = None
    if clean_report is not None:
        if not clean_report.exists():
            raise DynCleanError(f"{clean_report}: no such file")
        try:
            data = srsly.read_json(clean_report)
            thresholds = data["thresholds"]
            k = k if k is not None else data.get("k")
        except (ValueError, KeyError) as e:
            raise DynCleanError(f"{clean_report}: not a clean report ({e})") from None
    paths = plot_dynamics(dyn, output_dir, threshold_dynamics=thr, thresholds=thresholds, k=k)
    for path in paths.values():
        msg.good(f"Wrote {path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
