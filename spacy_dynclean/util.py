"""Small shared helpers: the package's error type and atomic file writes."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Union

import srsly

PathLike = Union[str, Path]

#: ``doc.user_data`` key of a doc's stable sample id.
DOC_ID_KEY = "dynclean_id"
#: ``doc.user_data`` key of the record's index in its source file.
DOC_INDEX_KEY = "dynclean_index"
#: Default span group that holds the (distant) entities a span component learns.
DEFAULT_SPANS_KEY = "sc"
#: Default span group of samples that the loss ignores (neither entity nor not).
DEFAULT_IGNORE_KEY = "dynclean_ignored"


class DynCleanError(ValueError):
    """A user-facing error: bad input, mismatched files. The CLI prints it as
    one line, without a traceback."""


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`,
    so that readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_open(path: PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path` for writing; rename it on success."""
    with atomic_path(path) as tmp:
        encoding = None if "b" in mode else "utf8"
        with open(tmp, mode, encoding=encoding) as f:
            yield f


@contextmanager
def fast_msgpack() -> Iterator[None]:
    """Speed up DocBin (de)serialization of span groups: srsly collects its
    msgpack encoders from catalogue (a scan of the global registry and the
    entry points) for every span group, which costs tens of seconds on a
    CoNLL03-sized corpus. Collect them once and reuse them in the block."""
    from srsly import msgpack

    registries = [msgpack.msgpack_encoders, msgpack.msgpack_decoders]
    try:
        for reg in registries:
            found = reg.get_all()
            reg.get_all = lambda found=found: dict(found)  # type: ignore[method-assign]
        yield
    finally:
        for reg in registries:
            reg.__dict__.pop("get_all", None)


def write_json_atomic(path: PathLike, data: object) -> None:
    with atomic_open(path) as f:
        f.write(srsly.json_dumps(data, indent=2) + "\n")


def check_not_input(output: PathLike, *inputs: PathLike) -> None:
    """Refuse to write an output onto one of the inputs."""
    out = Path(output).resolve()
    for inp in inputs:
        if Path(inp).resolve() == out:
            raise DynCleanError(f"{output}: the output would overwrite an input file")
