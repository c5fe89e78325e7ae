"""`python -m spacy_dynclean ...`: convert, train, heldout, clean, audit,
report, compare and the helpers of the project.

Every command turns a bad input, an operating-system error or an
interruption into one line on stderr and exit code 1 (130 / 143 for SIGINT /
SIGTERM), without a traceback, and leaves no partial output.
"""
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import typer
from wasabi import msg

from spacy_dynclean.cli_errors import fail, handle_errors
from spacy_dynclean.util import DEFAULT_SPANS_KEY, DynCleanError, input_file

# rich_markup_mode=None: click's plain help, which wraps instead of truncating
# long option names in an 80-column terminal ("--threshold-dynami…").
app = typer.Typer(
    name="spacy_dynclean", add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Clean distantly supervised NER data by its training dynamics.",
)
EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.callback()
def _group() -> None:
    """Clean distantly supervised NER data by its training dynamics."""


def parse_overrides(args: List[str]) -> Dict[str, Any]:
    """`--section.key value` (or `--section.key=value`) pairs, values parsed
    as JSON where they can be, as `spacy train` does; one line for a bad one."""
    import srsly

    args = list(args)
    result: Dict[str, Any] = {}
    while args:
        opt = args.pop(0)
        if not opt.startswith("--"):
            raise DynCleanError(
                f"unexpected argument {opt!r}: give CONFIG OUTPUT, then overrides as --section.key value "
                "(the corpus and dynamics are --paths.corpus, --paths.dynamics, ...)")
        name = opt[2:]
        if "=" in name:
            name, value = name.split("=", 1)
        elif not args or args[0].startswith("--"):
            value = "true"
        else:
            value = args.pop(0)
        if "." not in name:
            raise DynCleanError(f"unknown option {opt}: a config override names a section, as --section.key value")
        try:
            result[name] = srsly.json_loads(value)
        except ValueError:
            result[name] = str(value)
    return result


def import_user_code(code: Optional[Path]) -> None:
    """Import a Python file that registers functions (`--code`), as spaCy does."""
    if code is None:
        return
    import importlib.util

    if not code.exists() or code.is_dir():
        raise DynCleanError(f"{code}: no such Python file (--code)")
    try:
        spec = importlib.util.spec_from_file_location("dynclean_user_code", str(code))
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["dynclean_user_code"] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as e:
        raise DynCleanError(f"{code}: the code does not import ({type(e).__name__}: {e})") from None


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
    from spacy_dynclean.convert import convert

    stats = convert(input_path, output_path, fmt=fmt, spans_key=spans_key, skip_invalid=skip_invalid)
    if stats.skipped:
        msg.warn(f"Skipped {len(stats.skipped)} of {stats.records} records")
        for line in stats.skipped[:10]:
            msg.text(f"  {line}")
    msg.good(f"Wrote {stats.docs} docs with {stats.entities} entities to {output_path}")


@app.command("convert-dir")
@handle_errors
def convert_dir_cli(
    input_dir: Path = typer.Argument(..., help="Folder with train-ds, train-gs, dev, test (.json, .jsonl or CoNLL)"),
    output_dir: Path = typer.Argument(..., help="Folder for the .spacy files"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip bad records (counted) instead of failing"),
) -> None:
    """Convert every split of a DS-NER dataset folder (train-gs is optional);
    the DocBins are written together once every split converted."""
    from spacy_dynclean.convert import SPLITS, convert_dir

    stats = convert_dir(input_dir, output_dir, skip_invalid=skip_invalid)
    for split in SPLITS:
        if split not in stats:
            msg.info(f"{input_dir}: no {split} file: skipped")
            continue
        s = stats[split]
        skipped = f", {len(s.skipped)} records skipped" if s.skipped else ""
        msg.good(f"{split} -> {output_dir / (split + '.spacy')}: {s.docs} docs{skipped}")


@app.command("clean", context_settings=EXTRA_ARGS)
@handle_errors
def clean_cli(
    ctx: typer.Context,
    config: str = typer.Argument(..., help="Cleaning config (e.g. configs/clean.cfg), or a preset name"),
    output: Path = typer.Argument(..., help="Cleaned DocBin to write (OUTPUT.report.json/.md and OUTPUT.cfg beside)"),
    report: Optional[Path] = typer.Option(None, "--report", help="JSON report path (default OUTPUT.report.json)"),
    code: Optional[Path] = typer.Option(None, "--code", help="Python file that registers your own detectors"),
) -> None:
    """Flag suspect labels as a cleaning config says and write the cleaned
    corpus, its report and the resolved config. Settings are overridden as in
    `spacy train`: --paths.corpus train.spacy --detectors.aum.k 2 ..."""
    from spacy_dynclean.cleaning.run import run_clean

    overrides = parse_overrides(ctx.args)
    import_user_code(code)
    run_clean(config, output, overrides=overrides, report_path=report, code_path=code)


@app.command("review", context_settings=EXTRA_ARGS)
@handle_errors
def review_cli(
    ctx: typer.Context,
    config: str = typer.Argument(..., help="Cleaning config (or a preset name), as for clean"),
    output: Path = typer.Argument(..., help="Folder for review.html, tasks.jsonl and groups.json"),
    examples: int = typer.Option(3, "--examples", help="Example sentences per group on the page"),
    max_groups: int = typer.Option(500, "--max-groups", help="Groups on the page and in tasks.jsonl"),
    code: Optional[Path] = typer.Option(None, "--code", help="Python file that registers your own detectors"),
) -> None:
    """Group the suspect labels by (surface form, label, suggested action),
    rank the groups by expected gain and write an offline HTML page (displaCy)
    and Prodigy span tasks, to decide once per group. Overrides as for clean."""
    from spacy_dynclean.review.run import run_review

    overrides = parse_overrides(ctx.args)
    import_user_code(code)
    run_review(config, output, overrides=overrides, code_path=code, examples=examples, max_groups=max_groups)


@app.command("apply-review", context_settings=EXTRA_ARGS)
@handle_errors
def apply_review_cli(
    ctx: typer.Context,
    corpus: Path = typer.Argument(..., help="The corpus the review was made on (distant labels)"),
    decisions: Path = typer.Argument(..., help="Reviewed tasks.jsonl, or a CSV / JSONL of group ids and decisions"),
    output: Path = typer.Argument(..., help="DocBin to write (OUTPUT.report.json beside)"),
    groups: Optional[Path] = typer.Option(None, "--groups", help="groups.json of the review (default: beside "
                                          "DECISIONS)"),
    code: Optional[Path] = typer.Option(None, "--code", help="Python file that registers your own detectors"),
) -> None:
    """Apply decisions per group (accept, reject, remove, relabel:LABEL) to
    every occurrence; undecided groups follow the review's cleaning config.
    Overrides (e.g. --paths.dynamics) go to that config."""
    from spacy_dynclean.review.run import apply_review

    overrides = parse_overrides(ctx.args)
    import_user_code(code)
    apply_review(corpus, decisions, output, groups_path=groups, overrides=overrides)


@app.command("init-config")
@handle_errors
def init_config_cli(
    output: Path = typer.Argument(..., help="Cleaning config to write"),
    preset: str = typer.Option("default", "--preset", "-p", help="Which default config"),
) -> None:
    """Write a packaged cleaning config, every setting commented."""
    from spacy_dynclean.cleaning.config import CONFIG_DIR, PRESETS
    from spacy_dynclean.outputs import one_output

    if preset not in PRESETS:
        raise DynCleanError(f"--preset must be one of {', '.join(sorted(PRESETS))}, not {preset!r}")
    with one_output(output) as tmp:
        tmp.write_text((CONFIG_DIR / PRESETS[preset]).read_text(encoding="utf8"), encoding="utf8")
    msg.good(f"Wrote the {preset} cleaning config to {output}")


@app.command("folds", context_settings=EXTRA_ARGS)
@handle_errors
def folds_cli(
    ctx: typer.Context,
    backbone: str = typer.Argument(..., help="cnn, minilm, or a Hugging Face model name or path"),
    corpus: Path = typer.Argument(..., help="Training DocBin (distant labels)"),
    dev: Path = typer.Argument(..., help="Dev DocBin, for model selection only"),
    output: Path = typer.Argument(..., help="Folder for folds.npz"),
    k: int = typer.Option(4, "--folds", "-k", help="Number of folds"),
    mode: str = typer.Option("entity-disjoint", "--mode", help="entity-disjoint or random"),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and the trainings"),
    threads: int = typer.Option(0, "--threads", help="CPU threads of each training (0: as the environment says)"),
    config_dir: Path = typer.Option(Path("configs"), "--config-dir", help="Folder of the backbone configs"),
) -> None:
    """Train K models, each without a group of entity forms, and record every
    span's label distribution from a model that never saw it: evidence for
    the out_of_fold detector. Extra --section.key value options go to each
    training (e.g. --training.max_epochs 3)."""
    from spacy_dynclean.evidence.folds import run_folds

    extra = parse_overrides(ctx.args)
    span_length = int(extra.get("components.dynclean_ner.max_span_length", 8))
    overrides = [x for key, value in extra.items()
                 for x in (f"--{key}", value if isinstance(value, str) else json.dumps(value))]
    run_folds(backbone, corpus, dev, output, k=k, mode=mode, seed=seed, overrides=overrides,
              config_dir=config_dir, threads=threads, max_span_length=span_length)


@app.command("fill")
@handle_errors
def fill_cli(
    model: Path = typer.Argument(..., help="Pipeline trained on the cleaned corpus (the teacher)"),
    corpus: Path = typer.Argument(..., help="The cleaned DocBin it was trained on"),
    output: Path = typer.Argument(..., help="Filled DocBin to write (OUTPUT.report.json beside)"),
    report: Optional[Path] = typer.Option(None, "--report", help="JSON report path"),
    unlabelled_min_score: Optional[float] = typer.Option(
        None, "--unlabelled-min-score", help="Also add entities predicted in unlabelled text at this probability"),
    keep_masked: bool = typer.Option(
        False, "--keep-masked", help="Only add the teacher's entities; the rest of a masked region stays masked"),
) -> None:
    """A self-training round: the teacher decides the masked regions of the
    cleaned corpus (its entities there become entities, the rest non-entity,
    or with --keep-masked stays masked); train a student on the output."""
    from spacy_dynclean.cleaning.selftrain import run_fill

    run_fill(model, corpus, output, report_path=report, unlabelled_min_score=unlabelled_min_score,
             keep_masked=keep_masked)


@app.command("heldout")
@handle_errors
def heldout_cli(
    model: Path = typer.Argument(..., help="Pipeline trained on the distant labels (the dynamics run's model-best)"),
    dev: Path = typer.Argument(..., help="Gold-labelled dev DocBin (never the training sentences' gold labels)"),
    output: Path = typer.Argument(..., help="Evidence JSON to write"),
    spans_key: str = typer.Option(DEFAULT_SPANS_KEY, "--spans-key", help="Span group of the dev entities (falls back to doc.ents)"),
) -> None:
    """Count, per surface form, how the pipeline's predictions on a gold dev
    set fare: evidence about systematic distant errors for the cleaning config."""
    from spacy_dynclean.evidence.heldout import run_heldout

    run_heldout(model, dev, output, spans_key=spans_key)


@app.command("audit")
@handle_errors
def audit_cli(
    distant: Path = typer.Argument(..., help="Distant-label DocBin (the input of clean)"),
    cleaned: Path = typer.Argument(..., help="Cleaned DocBin (the output of clean)"),
    gold: Path = typer.Argument(..., help="Gold-label DocBin of the same sentences"),
    output: Path = typer.Option(..., "--output", "-o", help="JSON file to write"),
    max_span_length: int = typer.Option(8, "--max-span-length", help="Longest candidate span"),
    spans_key: str = typer.Option(DEFAULT_SPANS_KEY, "--spans-key", help="Span group of the entities"),
    skip_if_missing: bool = typer.Option(False, "--skip-if-missing", help="No gold file: write a 'skipped' note"),
) -> None:
    """Compare distant, cleaned and gold labels of the same sentences."""
    from spacy_dynclean.evaluation.audit import print_audit, run_audit

    result = run_audit(distant, cleaned, gold, output, max_span_length=max_span_length, spans_key=spans_key,
                       skip_if_missing=skip_if_missing)
    print_audit(result, output)


@app.command("report")
@handle_errors
def report_cli(
    dynamics: Path = typer.Argument(..., help="Dynamics folder"),
    output_dir: Path = typer.Argument(..., help="Folder for aum_histograms.png and data_map.png"),
    threshold_dynamics: Optional[Path] = typer.Option(None, "--threshold-dynamics", "-t", help="Threshold run"),
    clean_report: Optional[Path] = typer.Option(None, "--clean-report", help="JSON report of clean: thresholds, flags"),
    k: Optional[int] = typer.Option(None, "--k", help="Epochs averaged (default: the clean report's, else all)"),
) -> None:
    """Draw AUM histograms (real vs threshold samples, with the thresholds) and
    a data map (kept vs flagged samples)."""
    from spacy_dynclean.evaluation.plots import run_report

    run_report(dynamics, output_dir, threshold_dynamics=threshold_dynamics, clean_report=clean_report, k=k)


@app.command("train", context_settings=EXTRA_ARGS)
@handle_errors
def train_cli(
    ctx: typer.Context,
    backbone: str = typer.Argument(..., help="cnn, minilm, a Hugging Face model name or path, or a training config (.cfg)"),
    output: Path = typer.Argument(..., help="Output directory of the trained pipeline"),
    component: str = typer.Option("dynclean_ner", "--component", "-c", help="dynclean_ner or ner (stock spaCy)"),
    config_dir: Path = typer.Option(Path("configs"), "--config-dir", help="Folder of the configs"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, or -1 for CPU"),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0: as the environment says); a seed "
                                "reproduces bit for bit only with the same number"),
) -> None:
    """`spacy train` with the config of a backbone; extra `--section.key value`
    options are passed on as config overrides (e.g. --paths.train)."""
    from spacy_dynclean.recording.training import run_train

    run_train(backbone, output, component=component, config_dir=config_dir, gpu_id=gpu_id, threads=threads,
              overrides=parse_overrides(ctx.args))


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
    from spacy_dynclean.evaluation.compare import compare

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
    from spacy_dynclean.convert import verify_checksums

    verify_checksums(sums, data_dir, only=only)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
