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

from .util import DEFAULT_SPANS_KEY, DynCleanError

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
            msg.fail(str(e))
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
