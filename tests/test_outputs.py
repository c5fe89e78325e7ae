"""Outputs commit together: a kill, a signal or an error inside the renames
leaves every old output or every new one, and says which."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from spacy_dynclean import outputs as outputs_module
from spacy_dynclean.outputs import Interrupted, Outputs
from spacy_dynclean.util import DynCleanError


def olds(tmp_path):
    (tmp_path / "out").mkdir()
    finals = [tmp_path / "out" / "a.spacy", tmp_path / "out" / "a.report.json", tmp_path / "out" / "a.cfg"]
    for f in finals:
        f.write_text("old")
    return finals


def write_new(outs, finals):
    for f in finals:
        outs.path(f).write_text("new")


def test_a_kill_inside_the_renames_is_rolled_back_by_the_next_command(tmp_path):
    finals = olds(tmp_path)
    script = textwrap.dedent(f"""
        import os
        from spacy_dynclean.outputs import Outputs
        finals = {[str(f) for f in finals]!r}
        real, calls = os.replace, []
        def replace(a, b):
            calls.append((a, b))
            real(a, b)
            if len([c for c in calls if not str(c[0]).endswith(".new")]) == 3:  # two outputs moved, one renamed
                os._exit(9)  # as SIGKILL: no cleanup at all
        os.replace = replace
        with Outputs(finals) as outs:
            for f in finals:
                outs.path(f).write_text("new")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert any("dynclean-commit" in n for n in left)  # the journal of the stopped commit
    assert [f.read_text() if f.exists() else None for f in finals] != ["old"] * 3  # a mix, for now
    with Outputs([tmp_path / "out" / "other.json"]):  # any command writing into the folder rolls back
        pass
    assert [f.read_text() for f in finals] == ["old"] * 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.cfg", "a.report.json", "a.spacy"]


def test_sigterm_inside_the_renames_waits_for_them(tmp_path, monkeypatch):
    finals = olds(tmp_path)
    real = os.replace
    sent = []

    def replace(a, b):
        if not sent and str(a).endswith(".dynclean-tmp") and ".old." not in str(b):
            sent.append(1)
            os.kill(os.getpid(), signal.SIGTERM)  # arrives between two renames
        real(a, b)

    monkeypatch.setattr(outputs_module.os, "replace", replace)
    with pytest.raises(Interrupted) as info:
        with Outputs(finals) as outs:
            write_new(outs, finals)
    assert info.value.written and info.value.code == 128 + signal.SIGTERM and sent
    assert [f.read_text() for f in finals] == ["new"] * 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.cfg", "a.report.json", "a.spacy"]


def test_sigterm_before_the_renames_writes_nothing(tmp_path):
    finals = olds(tmp_path)
    with pytest.raises(Interrupted) as info:
        with Outputs(finals) as outs:
            write_new(outs, finals)
            os.kill(os.getpid(), signal.SIGTERM)
    assert not info.value.written
    assert [f.read_text() for f in finals] == ["old"] * 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.cfg", "a.report.json", "a.spacy"]


def test_an_error_inside_the_renames_restores_the_old_outputs_and_names_the_output(tmp_path, monkeypatch):
    finals = olds(tmp_path)
    real = os.replace
    calls = []

    def replace(a, b):
        if not str(a).endswith(".new"):
            calls.append(a)
            if len(calls) == 4:  # two outputs done, the third moved aside
                raise OSError(28, "No space left on device", str(a))
        real(a, b)

    monkeypatch.setattr(outputs_module.os, "replace", replace)
    with pytest.raises(DynCleanError) as info:
        with Outputs(finals) as outs:
            write_new(outs, finals)
    monkeypatch.setattr(outputs_module.os, "replace", real)
    assert str(info.value).startswith(str(finals[1])) and "No space left" in str(info.value)
    assert "dynclean-tmp" not in str(info.value)
    assert [f.read_text() for f in finals] == ["old"] * 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.cfg", "a.report.json", "a.spacy"]


def test_a_folder_output_is_swapped_and_rolled_back_whole(tmp_path):
    (tmp_path / "dyn").mkdir()
    (tmp_path / "dyn" / "old.npz").write_text("old")
    with Outputs([tmp_path / "dyn"]) as outs:
        (outs.folder(tmp_path / "dyn") / "new.npz").write_text("new")
    assert sorted(p.name for p in (tmp_path / "dyn").iterdir()) == ["new.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dyn"]


def test_a_full_disk_names_the_output_not_its_temporary_file(tmp_path):
    """An OSError while writing (ENOSPC) leaves the transaction as one line naming the output."""
    import errno

    out, other = tmp_path / "out" / "c.spacy", tmp_path / "out" / "c.report.json"
    with pytest.raises(DynCleanError) as info:
        with Outputs([out, other], []) as outs:
            tmp = outs.path(out)
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert str(info.value) == f"{out}: No space left on device (free some disk space)"
    with pytest.raises(DynCleanError, match="c.spacy, .*c.report.json: No space left"):
        with Outputs([out, other], []):
            raise OSError(errno.ENOSPC, "No space left on device")  # a write error names no file: both outputs
    assert not out.parent.exists()  # nothing written, the folder it made removed again
