"""`python -m spacy_dynclean ...`: convert, clean, audit, report.

Every command turns a `DynCleanError` (bad input, mismatched files) into one
line on stderr and exit code 1, without a traceback.
"""
import functools
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

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
    k: str = typer.Option(str(CleanSettings.k), "--k", help="Epochs averaged: auto (end of early learning), 0 (all) or N"),
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
    positive_source: str = typer.Option(CleanSettings.positive_source, "--positive-source", help="What flags positives: auto (held-out evidence when given, else dynamics), dynamics, heldout or both"),
    heldout: Optional[Path] = typer.Option(None, "--heldout", help="Held-out evidence JSON (from the `heldout` command) to flag systematic errors by surface form"),
    heldout_min_predicted: int = typer.Option(CleanSettings.heldout_min_predicted, "--heldout-min-predicted", help="A form must be predicted this often on dev to be judged"),
    heldout_max_precision: float = typer.Option(CleanSettings.heldout_max_precision, "--heldout-max-precision", help="Flag positives of forms whose dev precision is at most this"),
    heldout_negatives: bool = typer.Option(CleanSettings.heldout_negatives, "--heldout-negatives/--no-heldout-negatives", help="Also flag non-entity spans whose text is a dev entity the model missed"),
) -> None:
    """Flag suspect samples by their dynamics and write a cleaned DocBin and a report."""
    from .clean import run_clean

    settings = CleanSettings(
        method=method, ranking=ranking, k=parse_k(k), positive_percentile=positive_percentile,
        negative_percentile=negative_percentile, per_label=per_label,
        positive_fraction=positive_fraction, negative_fraction=negative_fraction,
        protect_overlaps=protect_overlaps, max_label_fraction=max_label_fraction,
        strategy=strategy, clean_positives=clean_positives, clean_negatives=clean_negatives,
        heldout_min_predicted=heldout_min_predicted, heldout_max_precision=heldout_max_precision,
        heldout_negatives=heldout_negatives, positive_source=positive_source,
    )
    run_clean(corpus, dynamics, output, threshold_dir=threshold_dynamics, report_path=report, settings=settings,
              heldout_path=heldout)


@app.command("heldout")
@handle_errors
def heldout_cli(
    model: Path = typer.Argument(..., help="Pipeline trained on the distant labels (the dynamics run's model-best)"),
    dev: Path = typer.Argument(..., help="Gold-labelled dev DocBin (never the training sentences' gold labels)"),
    output: Path = typer.Argument(..., help="Evidence JSON to write"),
    spans_key: str = typer.Option("sc", "--spans-key", help="Span group of the dev entities (falls back to doc.ents)"),
) -> None:
    """Count, per surface form, how the pipeline's predictions on a gold dev set fare:
    evidence for `clean --heldout` about systematic distant errors."""
    from .heldout import run_heldout

    run_heldout(model, dev, output, spans_key=spans_key)


def parse_k(value: str) -> Union[int, str]:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise DynCleanError(f"--k must be 'auto', 0 or a positive number, not {value!r}") from None


@app.command("audit")
@handle_errors
def audit_cli(
    distant: Path = typer.Argument(..., help="Distant-label DocBin (the input of clean)"),
    cleaned: Path = typer.Argument(..., help="Cleaned DocBin (the output of clean)"),
    gold: Path = typer.Argument(..., help="Gold-label DocBin of the same sentences"),
    output: Path = typer.Option(..., "--output", "-o", help="JSON file to write"),
    max_span_length: int = typer.Option(8, "--max-span-length", help="Longest candidate span"),
    spans_key: str = typer.Option(DEFAULT_SPANS_KEY, "--spans-key"),
    skip_if_missing: bool = typer.Option(False, "--skip-if-missing", help="No gold file: write a 'skipped' note and exit 0"),
) -> None:
    """Compare distant, cleaned and gold labels of the same sentences."""
    from .audit import audit
    from .convert import read_docbin
    from .util import write_json_atomic

    if skip_if_missing and not gold.exists():
        reason = f"no gold train file at {gold}"
        write_json_atomic(output, {"skipped": reason})
        msg.info(f"Audit skipped: {reason}")
        return
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


BACKBONE_CONFIGS = {"cnn": "cnn", "minilm": "minilm"}


def config_for(backbone: str, component: str, config_dir: Path) -> Tuple[Path, Dict[str, Any]]:
    """Config file and overrides for a backbone: `cnn`, `minilm`, or any
    Hugging Face model name or path (the GPU transformer config)."""
    if component not in ("dynclean_ner", "ner"):
        raise DynCleanError(f"component must be 'dynclean_ner' or 'ner', not {component!r}")
    stem = BACKBONE_CONFIGS.get(backbone.lower(), "transformer")
    overrides: Dict[str, Any] = {} if stem != "transformer" else {"paths.transformer": backbone}
    path = config_dir / f"{stem}{'_ner' if component == 'ner' else ''}.cfg"
    if not path.exists():
        raise DynCleanError(f"{path}: no such config (looked up for backbone {backbone!r})")
    return path, overrides


@app.command(
    "train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
@handle_errors
def train_cli(
    ctx: typer.Context,
    backbone: str = typer.Argument(..., help="cnn, minilm, or a Hugging Face model name or path"),
    output: Path = typer.Argument(..., help="Output directory of the trained pipeline"),
    component: str = typer.Option("dynclean_ner", "--component", "-c", help="dynclean_ner or ner (stock spaCy)"),
    config_dir: Path = typer.Option(Path("configs"), "--config-dir", help="Folder of the configs"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
) -> None:
    """`spacy train` with the config of a backbone; extra `--section.key value`
    options are passed on as config overrides (e.g. --paths.train)."""
    from spacy.cli._util import parse_config_overrides
    from spacy.cli.train import train

    config, overrides = config_for(backbone, component, config_dir)
    overrides.update(parse_config_overrides(ctx.args))
    msg.info(f"Training with {config}")
    train(config, output, use_gpu=gpu_id, overrides=overrides)


@app.command("convert-dir")
@handle_errors
def convert_dir_cli(
    input_dir: Path = typer.Argument(..., help="Folder with train-ds, train-gs, dev, test (.json, .jsonl or CoNLL)"),
    output_dir: Path = typer.Argument(..., help="Folder for the .spacy files"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid"),
) -> None:
    """Convert every split of a DS-NER dataset folder that exists (train-gs is optional)."""
    from .convert import convert

    required = ("train-ds", "dev", "test")
    for split in ("train-ds", "train-gs", "dev", "test"):
        found = [p for p in sorted(input_dir.glob(f"{split}.*")) if p.suffix in (".json", ".jsonl", ".conll", ".iob", ".bio", ".txt")]
        if not found:
            if split in required:
                raise DynCleanError(f"{input_dir}: no {split} file (.json, .jsonl or CoNLL)")
            msg.info(f"{input_dir}: no {split} file: skipped")
            continue
        stats = convert(found[0], output_dir / f"{split}.spacy", skip_invalid=skip_invalid)
        skipped = f", {len(stats.skipped)} records skipped" if stats.skipped else ""
        msg.good(f"{found[0]} -> {output_dir / (split + '.spacy')}: {stats.docs} docs{skipped}")


@app.command("compare")
@handle_errors
def compare_cli(
    metrics: List[str] = typer.Argument(..., help="NAME=metrics.json of `spacy evaluate`, in table order"),
    optional: List[str] = typer.Option([], "--optional", help="NAME=metrics.json added when the file exists"),
    output: Path = typer.Option(..., "--output", "-o", help="Markdown table to write"),
    audit: Optional[Path] = typer.Option(None, "--audit", help="Audit JSON to add to the table"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="PNG bar chart to write"),
) -> None:
    """A Markdown table (P/R/F1 per model, gain over the first) and a bar chart."""
    from .compare import compare

    present = [spec for spec in optional if "=" in spec and Path(spec.split("=", 1)[1]).exists()]
    text = compare(list(metrics) + present, output, audit_path=audit, plot_path=plot)
    print(text)


@app.command("verify-checksums")
@handle_errors
def verify_cli(
    sums: Path = typer.Argument(..., help="File of 'sha256  relative/path' lines"),
    data_dir: Path = typer.Argument(..., help="Folder the paths are relative to"),
    only: Optional[str] = typer.Option(None, "--only", help="Check only paths under this folder name"),
) -> None:
    """Check the sha256 of the data files that are present (missing ones are listed)."""
    import hashlib

    if not sums.exists():
        raise DynCleanError(f"{sums}: no such file")
    checked = 0
    for line_no, line in enumerate(sums.read_text(encoding="utf8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise DynCleanError(f"{sums}: line {line_no}: expected 'sha256  path'")
        digest, rel = parts
        if only and not rel.startswith(f"{only}/"):
            continue
        path = data_dir / rel
        if not path.exists():
            msg.info(f"{path}: not present")
            continue
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise DynCleanError(f"{path}: sha256 {actual} does not match {digest} ({sums}, line {line_no})")
        checked += 1
    msg.good(f"{checked} files match their sha256")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
