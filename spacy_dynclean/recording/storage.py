"""The recorded dynamics on disk, one file per array and per epoch, read lazily.

A dynamics folder holds ``dynamics.json`` (the metadata: labels, doc ids,
the recorded epochs), one ``.npy`` file per sample array (``doc.npy``,
``start.npy``, ...) and, per recorded epoch i, ``margins-i.npy``,
``probs-i.npy`` and ``pred-i.npy`` (format 2). A recording appends one
epoch's files and then rewrites the metadata, so it holds one epoch in memory
and a crash keeps the completed epochs; a reader memory-maps the files and
touches only the epochs it reads. Format 1 (one ``dynamics.npz`` rewritten
after each epoch) is still read.
"""
import json
import mmap
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

import numpy

from spacy_dynclean.util import DynCleanError, PathLike

META_NAME = "dynamics.json"
LEGACY_NAME = "dynamics.npz"
FORMAT_VERSION = 2
SAMPLE_ARRAYS = ("doc", "start", "end", "label", "assigned", "flags")
EPOCH_ARRAYS = ("margins", "probs", "pred")
_OWN_FILE = re.compile(r"^(?:(?:doc|start|end|label|assigned|flags)\.npy|(?:margins|probs|pred)-\d{3,}\.npy)$")

# per array: a 2-D (samples x epochs) array, or a list of 1-D epoch columns (memory-mapped when read from disk)
Columns = Union[numpy.ndarray, List[numpy.ndarray]]


def column_file(name: str, epoch: int) -> str:
    return f"{name}-{epoch:03d}.npy"


def _replace(folder: Path, name: str, write: Any) -> None:
    """Write folder/name through a temporary file in the same folder and one rename."""
    tmp = folder / f".{name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, folder / name)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise DynCleanError(f"{folder / name}: cannot be written ({e.strerror or e})") from None


def save_array(folder: Path, name: str, array: numpy.ndarray) -> None:
    _replace(folder, name, lambda f: numpy.save(f, numpy.ascontiguousarray(array), allow_pickle=False))


def save_meta(folder: Path, meta: Dict[str, Any], n_epochs: int) -> None:
    """The metadata, last: the `n_epochs` epoch files it counts are what a reader sees."""
    data = json.dumps({**meta, "format_version": FORMAT_VERSION, "n_epochs": n_epochs}).encode("utf8")
    _replace(folder, META_NAME, lambda f: f.write(data))


def clear(folder: Path) -> None:
    """Remove the dynamics files of an earlier recording (the metadata
    first, so a reader never sees a mix); other files stay."""
    for name in (META_NAME, LEGACY_NAME):
        (folder / name).unlink(missing_ok=True)
    for path in folder.iterdir():
        if _OWN_FILE.match(path.name):
            path.unlink()


def start(folder: Path, arrays: Dict[str, numpy.ndarray]) -> None:
    """Begin a recording in `folder`: an earlier one's files removed, the sample arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    clear(folder)
    for name in SAMPLE_ARRAYS:
        save_array(folder, f"{name}.npy", arrays[name])


def save_epoch(folder: Path, epoch: int, columns: Dict[str, numpy.ndarray]) -> None:
    for name in EPOCH_ARRAYS:
        save_array(folder, column_file(name, epoch), columns[name])


def load_column(folder: Path, name: str) -> numpy.ndarray:
    file = folder / name
    try:
        return numpy.load(file, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise DynCleanError(f"{file}: missing, though {folder / META_NAME} lists it; record the run again") from None
    except OSError as e:
        raise DynCleanError(f"{file}: cannot be read ({e.strerror or e})") from None
    except Exception as e:  # a truncated or foreign .npy
        raise DynCleanError(f"{file}: not a readable array, truncated or corrupt? ({type(e).__name__}: {e})") from None


def take(array: numpy.ndarray, rows: numpy.ndarray) -> numpy.ndarray:
    """`array[rows]` in memory of its own; the pages of a memory-mapped file
    it read are then let go, so a large recording read batch by batch does
    not stay resident in the process."""
    out = array[rows]
    out = numpy.array(out) if isinstance(out, numpy.memmap) or out.base is not None else out
    release(array)
    return out


def extremes(array: numpy.ndarray, chunk: int) -> Tuple[int, int]:
    """(min, max) of a 1-D array of whole numbers, a chunk at a time (a
    memory-mapped one's pages let go after each); (0, 0) when empty."""
    low, high = 0, 0
    for lo in range(0, len(array), chunk):
        part = take(array, slice(lo, lo + chunk))
        low, high = (int(part.min()), int(part.max())) if lo == 0 else (min(low, int(part.min())),
                                                                         max(high, int(part.max())))
    return low, high


def release(array: numpy.ndarray) -> None:
    """Let the pages of a memory-mapped array go (they are read again from
    the file when next needed); nothing for an array in memory."""
    mapped = getattr(array, "_mmap", None)
    if isinstance(mapped, mmap.mmap) and hasattr(mapped, "madvise"):
        try:
            mapped.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass


def dynamics_file(path: PathLike) -> Path:
    """The file that names a dynamics folder's format (what errors name)."""
    path = Path(path)
    if path.suffix == ".npz":
        return path
    return path / LEGACY_NAME if not (path / META_NAME).exists() and (path / LEGACY_NAME).exists() else path / META_NAME


def read(path: PathLike) -> Tuple[Dict[str, Any], Dict[str, numpy.ndarray], Dict[str, Columns], str]:
    """(metadata, sample arrays, epoch columns, the file errors name) of a
    dynamics folder of either format; a missing, empty or unreadable file
    is an error naming it."""
    path = Path(path)
    if path.suffix != ".npz" and path.exists() and not path.is_dir():
        raise DynCleanError(f"{path}: give the dynamics folder (it holds {META_NAME}), not a file")
    file = dynamics_file(path)
    if not file.exists():
        raise DynCleanError(f"{path / META_NAME}: no dynamics file (did the training run record dynamics?)")
    if file.is_dir():
        raise DynCleanError(f"{file}: is a folder, not a dynamics file")
    if file.name == META_NAME:
        meta = _read_json(file)
        samples = {name: load_column(path, f"{name}.npy") for name in SAMPLE_ARRAYS}
        n_epochs = meta.get("n_epochs")
        if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 0:
            raise DynCleanError(f"{file}: n_epochs is {n_epochs!r}, not a count of epochs; record the run again")
        columns: Dict[str, Columns] = {name: [load_column(path, column_file(name, i)) for i in range(n_epochs)]
                                       for name in EPOCH_ARRAYS}
        return meta, samples, columns, str(file)
    meta, arrays = _read_npz(file)
    return meta, {k: arrays[k] for k in SAMPLE_ARRAYS}, {k: arrays[k] for k in EPOCH_ARRAYS}, str(file)


def _read_json(file: Path) -> Dict[str, Any]:
    try:
        meta = json.loads(file.read_text(encoding="utf8"))
    except OSError as e:
        raise DynCleanError(f"{file}: cannot be read ({e.strerror or e})") from None
    except ValueError as e:
        raise DynCleanError(f"{file}: not a readable dynamics file, truncated or corrupt? ({e})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise DynCleanError(f"{file}: unsupported dynamics format {version!r}")
    return meta


def _read_npz(file: Path) -> Tuple[Dict[str, Any], Dict[str, numpy.ndarray]]:
    """Format 1: one .npz with every array and the metadata as bytes."""
    try:
        if file.stat().st_size == 0:
            raise ValueError("the file is empty")
        with numpy.load(file, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf8"))
            arrays = {k: data[k] for k in (*SAMPLE_ARRAYS, *EPOCH_ARRAYS)}
    except OSError as e:
        raise DynCleanError(f"{file}: cannot be read ({e.strerror or e})") from None
    except Exception as e:  # zip, npy and JSON errors of a truncated or foreign file
        raise DynCleanError(
            f"{file}: not a readable dynamics file, truncated or corrupt? ({type(e).__name__}: {e})"
        ) from None
    if not isinstance(meta, dict) or meta.get("format_version") != 1:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise DynCleanError(f"{file}: unsupported dynamics format {version!r}")
    return meta, arrays
