import json
import subprocess
import sys

from spacy_dynclean.convert import read_docbin

from .conftest import TRAIN_RECORDS


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "spacy_dynclean", *map(str, args)],
                          capture_output=True, text=True)


def test_help_lists_commands():
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("convert", "clean", "audit", "report", "heldout"):
        assert command in out.stdout


def test_convert_cli_and_one_line_error(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(TRAIN_RECORDS), encoding="utf8")
    out = run_cli("convert", good, tmp_path / "good.spacy")
    assert out.returncode == 0, out.stderr
    assert len(read_docbin(tmp_path / "good.spacy")) == 4
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"tokens": ["a"], "entities": [[0, 3, "X"]]}]), encoding="utf8")
    out = run_cli("convert", bad, tmp_path / "bad.spacy")
    assert out.returncode == 1
    text = (out.stdout + out.stderr).strip()
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1 and "bad.json: record 0" in text


def test_clean_cli_missing_dynamics_one_line(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(TRAIN_RECORDS), encoding="utf8")
    run_cli("convert", good, tmp_path / "good.spacy")
    out = run_cli("clean", "default", tmp_path / "c.spacy", "--paths.corpus", tmp_path / "good.spacy",
                  "--paths.dynamics", tmp_path / "nodyn")
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "no dynamics file" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c.spacy").exists()
    # the 0.1 call (CORPUS DYNAMICS OUTPUT) says what changed
    out = run_cli("clean", tmp_path / "good.spacy", tmp_path / "nodyn", tmp_path / "c.spacy")
    assert out.returncode == 1 and "--paths.corpus" in out.stderr and len(out.stderr.strip().splitlines()) == 1
