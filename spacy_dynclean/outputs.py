"""The outputs of one command, committed together.

Every command writes its files to temporary paths beside the final ones and
renames them into place at the end, so a failure, a kill or a full disk leaves
either the previous outputs or the new ones, never a mix. A folder output is
written as a temporary folder and swapped in. The renames are journaled: the
old outputs are moved aside first, and a kill in the middle (SIGKILL, a power
cut) is rolled back by the next command that writes one of the same outputs,
so every old output comes back. SIGTERM and SIGINT wait until the renames are
done (then the outputs are all new, and the message says so). Temporary paths
are removed on an error, on SIGTERM and on SIGINT. No output may be, or lie
inside, an input (or contain one, when it is a folder).
"""
import json
import os
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Dict, Iterable, Iterator, List, Optional, Sequence

from spacy_dynclean.util import DynCleanError, PathLike, write_json

TMP_SUFFIX = ".dynclean-tmp"
JOURNAL = f".dynclean-commit.{{pid}}.json{TMP_SUFFIX}"


class Interrupted(SystemExit):
    """SIGTERM / SIGINT during a command: `written` says whether the outputs
    had all been committed when it arrived (it waits out the renames)."""

    def __init__(self, code: int, written: bool = False) -> None:
        super().__init__(code)
        self.written = written


# the outputs this process has committed: an interrupt after them must not say "nothing was written"
WRITTEN: List[Path] = []


def _journal_entries(journal: Path) -> List[Dict[str, str]]:
    try:
        data = json.loads(journal.read_text(encoding="utf8"))
        return list(data["entries"]) if not data.get("done") else []
    except (OSError, ValueError, KeyError, TypeError):
        return []


def roll_back(journal: Path) -> None:
    """Undo a commit that a kill stopped part-way: every old output back, every new one gone."""
    for entry in _journal_entries(journal):
        final, backup = Path(entry["final"]), Path(entry["backup"])
        tmp = Path(entry["tmp"]) if entry.get("tmp") else None
        if backup.exists() or backup.is_symlink():
            if final.exists() or final.is_symlink():
                _remove(final)  # the new output, renamed in before the kill
            os.replace(backup, final)  # the old output back
        elif entry.get("had_old") != "yes" and tmp is not None and not tmp.exists() and final.exists():
            _remove(final)  # a new output where there was none before
        if tmp is not None:
            _remove(tmp)
    _remove(journal)


def recover(folder: Path) -> None:
    """Roll back the stopped commits of dead processes in `folder`."""
    if not folder.is_dir():
        return
    for journal in folder.glob(JOURNAL.format(pid="*")):
        pid_text = journal.name.split(".")[2]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            roll_back(journal)


def _resolve(path: PathLike) -> Path:
    return Path(os.path.abspath(os.path.realpath(os.fspath(path))))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_outputs(outputs: Sequence[PathLike], inputs: Iterable[Optional[PathLike]]) -> None:
    """Refuse an output that is, or lies inside, an input, an output folder
    that holds an input, and two outputs on the same path."""
    ins = [(Path(i), _resolve(i)) for i in inputs if i is not None]
    seen: Dict[Path, Path] = {}
    for out in outputs:
        o = _resolve(out)
        if o in seen:
            raise DynCleanError(f"{out}: given twice as an output (also as {seen[o]})")
        seen[o] = Path(out)
        for given, i in ins:
            if _inside(o, i):
                what = "is" if o == i else "lies inside"
                raise DynCleanError(f"{out}: the output {what} the input {given}; choose another output path")
            if _inside(i, o):
                raise DynCleanError(f"{out}: the output folder would hold the input {given}; "
                                    "choose another output path")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(final: Path) -> None:
    """Remove temporary paths of `final` left by a process that no longer
    runs (a SIGKILL during a write)."""
    if not final.parent.is_dir():
        return
    for stale in final.parent.glob(f".{final.name}.*{TMP_SUFFIX}"):
        pid_text = stale.name[len(final.name) + 2 :].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            _remove(stale)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def os_error(path: PathLike, error: OSError) -> DynCleanError:
    """One line for an operating-system error on `path`, with what to do."""
    reason = error.strerror or str(error)
    hints = {
        "ENOSPC": "free some disk space",
        "EACCES": "check the permissions",
        "EPERM": "check the permissions",
        "EROFS": "the file system is read-only: choose another path",
        "EISDIR": "a folder is in the way: give a file path",
        "ENOTDIR": "a part of the path is a file, not a folder",
        "ENOENT": "check the path",
    }
    import errno

    name = errno.errorcode.get(error.errno or 0, "")
    hint = hints.get(name)
    return DynCleanError(f"{path}: {reason}" + (f" ({hint})" if hint else ""))


class Outputs:
    """Temporary paths for a command's outputs, renamed into place together
    by `commit`. Use as a context manager: on an exception (or SIGTERM /
    SIGINT, turned into one) every temporary path and every folder this
    command created is removed, and no final path is touched."""

    def __init__(self, outputs: Sequence[PathLike], inputs: Iterable[Optional[PathLike]] = ()) -> None:
        self.finals: List[Path] = [Path(o) for o in outputs]
        check_outputs(self.finals, inputs)
        for folder in {f.parent for f in self.finals}:
            recover(folder)
        self._temps: Dict[Path, Path] = {}
        self._removals: List[Path] = []
        self._created_dirs: List[Path] = []
        self._old_handlers: Dict[int, object] = {}
        self._deferred: Optional[List[int]] = None
        self.committed = False

    def _prepare(self, final: Path, folder: bool) -> Path:
        if final not in self.finals:
            raise ValueError(f"{final} is not one of the declared outputs")
        if final in self._temps:
            return self._temps[final]
        if final.exists() and final.is_dir() != folder:
            raise DynCleanError(
                f"{final}: is a {'file' if folder else 'folder'}, the output is a {'folder' if folder else 'file'}: "
                "give another path"
            )
        self._make_parents(final.parent)
        remove_stale(final)
        tmp = final.parent / f".{final.name}.{os.getpid()}{TMP_SUFFIX}"
        _remove(tmp)
        try:
            if folder:
                tmp.mkdir()
            else:
                tmp.touch()
        except OSError as e:
            raise os_error(final, e) from None
        self._temps[final] = tmp
        return tmp

    def _make_parents(self, parent: Path) -> None:
        missing: List[Path] = []
        p = parent
        while not p.exists():
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
        if p.exists() and not p.is_dir():
            raise DynCleanError(f"{p}: is a file, so {parent} cannot be a folder: choose another output path")
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as e:
                raise os_error(d, e) from None
            self._created_dirs.append(d)

    def path(self, final: PathLike) -> Path:
        """The temporary file to write `final` to."""
        return self._prepare(Path(final), folder=False)

    def folder(self, final: PathLike) -> Path:
        """The temporary folder to write `final` to (swapped in by `commit`)."""
        return self._prepare(Path(final), folder=True)

    def remove(self, final: PathLike) -> None:
        """Delete the old `final` at commit (an output this run does not make)."""
        final = Path(final)
        if final not in self.finals:
            raise ValueError(f"{final} is not one of the declared outputs")
        self._removals.append(final)

    def commit(self) -> None:
        """Rename every temporary path onto its final path (a folder output
        replaces the old folder), journaled; SIGTERM and SIGINT wait."""
        umask = os.umask(0)
        os.umask(umask)
        pending = dict(self._temps)
        if not pending and not self._removals:
            self.committed = True
            return
        pid = os.getpid()
        entries = [{"final": os.path.abspath(f), "tmp": os.path.abspath(pending[f]) if f in pending else "",
                    "had_old": "yes" if f.exists() else "no",
                    "backup": os.path.abspath(f.parent / f".{f.name}.{pid}.old{TMP_SUFFIX}")}
                   for f in self.finals if f in pending or f in self._removals]
        journal = self.finals[0].parent / JOURNAL.format(pid=pid)
        self._deferred = []
        current = self.finals[0]
        try:
            self._write_journal(journal, entries, done=False)
            for entry in entries:
                current = Path(entry["final"])
                if entry["had_old"] == "yes":
                    os.replace(current, entry["backup"])
                if entry["tmp"]:
                    if not Path(entry["tmp"]).is_dir():
                        os.chmod(entry["tmp"], 0o666 & ~umask)
                    os.replace(entry["tmp"], current)
            self._write_journal(journal, entries, done=True)
        except OSError as e:
            roll_back(journal)
            raise os_error(current, e) from None
        finally:
            deferred, self._deferred = self._deferred, None
        for entry in entries:
            _remove(Path(entry["backup"]))
        _remove(journal)
        self._temps.clear()
        self.committed = True
        WRITTEN.extend(Path(entry["final"]) for entry in entries)
        if deferred:
            raise Interrupted(128 + deferred[0], written=True)

    def _write_journal(self, journal: Path, entries: List[Dict[str, str]], done: bool) -> None:
        tmp = journal.with_name(journal.name + ".new")
        tmp.write_text(json.dumps({"done": done, "entries": entries}), encoding="utf8")
        os.replace(tmp, journal)

    def discard(self) -> None:
        """Remove the temporary paths and the folders this command created."""
        for tmp in list(self._temps.values()):
            _remove(tmp)
        self._temps.clear()
        for d in reversed(self._created_dirs):
            try:
                d.rmdir()  # only when empty
            except OSError:
                pass
        self._created_dirs.clear()

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        if self._deferred is not None:  # inside the renames: finish them first
            self._deferred.append(signum)
            return
        raise Interrupted(128 + signum)

    def __enter__(self) -> "Outputs":
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        except ValueError:  # not the main thread: no handlers
            self._old_handlers.clear()
        return self

    def final_of(self, filename: Optional[object]) -> str:
        """The output an operating-system error on `filename` (a temporary
        path, or None) belongs to: what a user can act on."""
        if filename:
            p = Path(os.fsdecode(filename))  # type: ignore[arg-type]
            for final, tmp in self._temps.items():
                if p == tmp or tmp in p.parents:
                    return str(final)
            return str(p)
        finals = [str(f) for f in self.finals]
        return ", ".join(finals) if len(finals) <= 3 else f"{', '.join(finals[:3])}, ... ({len(finals)} outputs)"

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        failed_output = self.final_of(exc.filename) if isinstance(exc, OSError) else None  # before discard()
        try:
            if exc_type is None and not self.committed:
                self.commit()
        finally:
            if exc_type is not None or not self.committed:
                self.discard()
            for sig, handler in self._old_handlers.items():
                signal.signal(sig, handler)  # type: ignore[arg-type]
        if isinstance(exc, OSError):  # writing an output failed (a full disk): name the output, not its temp file
            raise os_error(failed_output, exc) from None


@contextmanager
def one_output(final: PathLike, inputs: Iterable[Optional[PathLike]] = ()) -> Iterator[Path]:
    """A single output file: yield its temporary path, rename on success."""
    with Outputs([final], inputs) as outputs:
        yield outputs.path(final)


def write_json_atomic(path: PathLike, data: object, inputs: Iterable[Optional[PathLike]] = ()) -> None:
    """Write one JSON file through a transaction."""
    with one_output(path, inputs) as tmp:
        write_json(tmp, data)
