"""Small shared helpers: the package's error type, names and JSON writing."""
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

import srsly
from thinc.api import ConfigValidationError

PathLike = Union[str, Path]

#: ``doc.user_data`` key of a doc's stable sample id.
DOC_ID_KEY = "dynclean_id"
#: ``doc.user_data`` key of the record's index in its source file.
DOC_INDEX_KEY = "dynclean_index"
#: ``doc.user_data`` key of the number of changes `clean` made to a doc.
CHANGES_KEY = "dynclean_changes"
#: Default span group that holds the (distant) entities a span component learns.
DEFAULT_SPANS_KEY = "sc"
#: Default span group of samples that the loss ignores (neither entity nor not).
DEFAULT_IGNORE_KEY = "dynclean_ignored"


class DynCleanError(ValueError):
    """A user-facing error: bad input, mismatched files. The CLI prints it as
    one line, without a traceback."""


_FAST_MSGPACK = {"depth": 0}


@contextmanager
def fast_msgpack() -> Iterator[None]:
    """Speed up DocBin (de)serialization of span groups: srsly collects its
    msgpack encoders from catalogue (a scan of the global registry and the
    entry points) for every span group, which costs tens of seconds on a
    CoNLL03-sized corpus. Collect them once and reuse them in the block
    (blocks may nest and interleave, as readers read in step with a writer:
    the last to end puts catalogue back)."""
    from srsly import msgpack

    registries = [msgpack.msgpack_encoders, msgpack.msgpack_decoders]
    if _FAST_MSGPACK["depth"] == 0:
        for reg in registries:
            found = reg.get_all()
            reg.get_all = lambda found=found: dict(found)  # type: ignore[method-assign]
    _FAST_MSGPACK["depth"] += 1
    try:
        yield
    finally:
        _FAST_MSGPACK["depth"] -= 1
        if _FAST_MSGPACK["depth"] == 0:
            for reg in registries:
                reg.__dict__.pop("get_all", None)


def write_json(path: PathLike, data: object) -> None:
    """Write JSON (use inside an `outputs.Outputs` transaction, or through
    `outputs.write_json_atomic`)."""
    Path(path).write_text(srsly.json_dumps(data, indent=2) + "\n", encoding="utf8")


def input_file(path: PathLike, if_folder: str) -> Path:
    """The path of an input file that must exist and not be a folder (one
    line otherwise; `if_folder` says what a folder is not)."""
    path = Path(path)
    if not path.exists():
        raise DynCleanError(f"{path}: no such file")
    if path.is_dir():
        raise DynCleanError(f"{path}: is a folder, {if_folder}")
    return path


def read_json(path: PathLike, what: str = "JSON file") -> object:
    """Parse a JSON file, with one line for a missing, unreadable, non-UTF-8
    or malformed one."""
    path = input_file(path, f"not a {what}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DynCleanError(f"{path}: not UTF-8 text, so not a {what}") from None
    except OSError as e:
        raise DynCleanError(f"{path}: cannot be read ({e.strerror or e})") from None
    try:
        return srsly.json_loads(text)
    except ValueError as e:
        raise DynCleanError(f"{path}: malformed JSON, not a {what} ({' '.join(str(e).split())[:120]})") from None


def config_error(error: ConfigValidationError, where: str = "", wrapped: bool = False,
                 source: str = "cleaning config") -> DynCleanError:
    """One line naming the section and key of the first config error
    (`wrapped`: the section was resolved as {"x": section}; `source`: the
    file, where the error is in the file itself)."""
    errors = getattr(error, "errors", None) or []
    if errors:
        first = errors[0]
        loc = [str(x) for x in first.get("loc", [])][1 if wrapped else 0:]
        text = str(first.get("msg", "invalid")).replace("at root: ", "")
        text = text.replace("<class 'float'>", "a number").replace("<class 'int'>", "a whole number")
        text = text.replace("<class 'str'>", "a string").replace("<class 'bool'>", "true or false")
        section = ".".join(([where] if where else []) + loc[:-1]) or where
        key = loc[-1] if loc else ""
        place = f"[{section}] {key}" if section else key
        return DynCleanError(f"{source}: {place}: {text}")
    text = " ".join(str(getattr(error, "desc", "") or getattr(error, "title", "") or error).split())
    return DynCleanError(f"{source}{' [' + where + ']' if where else ''}: {text}")
