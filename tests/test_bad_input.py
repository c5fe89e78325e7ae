"""Bad inputs, wrong paths and interruptions, as a careless user makes them.

Every case asserts the exit code, one message line on stderr that names the
file (or the setting) at fault, that no input changed (hashes before and
after) and that no partial, stray or temporary output remains.
"""
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import numpy
import pytest
import spacy
from typer.testing import CliRunner

from spacy_dynclean.cli import app
from spacy_dynclean.convert import write_docbin
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.evidence.heldout import FormEvidence

from .helpers import GOLD, RECORDS, docs_of, make_dynamics

RUNNER = CliRunner()


def tree(root: Path) -> Dict[str, str]:
    """Every file under root (hidden ones too) and its sha256."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            out[str(p.relative_to(root)) + "/"] = "dir"
    return out


@pytest.fixture
def box(tmp_path):
    """A working folder with one of every input a command reads."""
    (tmp_path / "train.json").write_text(json.dumps(RECORDS), encoding="utf8")
    docs = docs_of(tmp_path, RECORDS, "ds")
    (tmp_path / "ds.json").unlink()
    write_docbin(docs, tmp_path / "train.spacy")
    gold = [GOLD[0], dict(GOLD[1], entities=[[1, 1, "MISC"]]), GOLD[2]]  # a doc `clean` leaves alone differs
    write_docbin(docs_of(tmp_path, gold, "gs"), tmp_path / "gold.spacy")
    (tmp_path / "gs.json").unlink()
    make_dynamics(docs, low=[(0, 0, 1), (0, 7, 8)]).to_disk(tmp_path / "dyn")  # "The", "Berlin" suspect
    make_dynamics(docs, threshold=True).to_disk(tmp_path / "thr")
    ev = FormEvidence()
    ev.add([(0, 1, "MISC", "The")], [(7, 8, "LOC", "Berlin")])
    ev.to_disk(tmp_path / "heldout.json")
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "MISC", "pattern": "The"}])
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "metrics.json").write_text(json.dumps({"ents_p": 0.5, "ents_r": 0.5, "ents_f": 0.5}))
    return tmp_path


def clean_args(box: Path, out: str = "out/clean.spacy", *extra: str) -> List[str]:
    return ["clean", "default", str(box / out), "--paths.corpus", str(box / "train.spacy"),
            "--paths.dynamics", str(box / "dyn"), "--paths.threshold_dynamics", str(box / "thr"),
            "--decision.positives", '["aum"]', "--decision.negatives", '["aum"]', *extra]


def check_fails(box: Path, args: List[str], names: str, code: int = 1) -> str:
    """Run a command that must fail: exit code, one line naming `names`, no
    change under box."""
    before = tree(box)
    result = RUNNER.invoke(app, [str(a) for a in args])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert names in lines[0], lines[0]
    assert tree(box) == before, "an input changed or an output (or temporary file) was left"
    return lines[0]


# --- convert ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,content,expect", [
    ("missing.json", None, "no such file"),
    ("latin1.json", "latin-1", "not UTF-8"),
    ("broken.json", '[{"tokens": ["a"]', "malformed JSON"),
    ("bools.json", json.dumps([{"tokens": ["a", "b"], "entities": [[True, 1, "PER"]]}]), "whole-number offsets"),
    ("floats.json", json.dumps([{"tokens": ["a", "b"], "entities": [[0.0, 1, "PER"]]}]), "whole-number offsets"),
    ("blank.json", json.dumps([{"tokens": ["a", "b"], "entities": [[0, 1, "  "]]}]), "blank label"),
    ("overlap.json", json.dumps([{"tokens": ["a", "b"], "entities": [[0, 1, "PER"], [1, 1, "LOC"]]}]), "overlapping"),
    ("empty.json", "[]", "no valid records"),
    ("strings.json", json.dumps(["a", "b"]), "expected an object with 'tokens'"),
    ("badtag.conll", "Karl B-PER\nCrary X-PER\n", "invalid tag"),
])
def test_convert_bad_files(box, name, content, expect):
    path = box / name
    if content == "latin-1":
        path.write_bytes('[{"tokens": ["Ren\xe9"], "entities": []}]'.encode("latin-1"))
    elif content is not None:
        path.write_text(content, encoding="utf8")
    line = check_fails(box, ["convert", path, box / "out.spacy"], name)
    assert expect in line


def test_convert_input_is_a_folder(box):
    check_fails(box, ["convert", box / "dyn", box / "out.spacy"], "is a folder")


def test_convert_output_is_the_input(box):
    check_fails(box, ["convert", box / "train.json", box / "train.json"], "the output is the input")


def test_convert_output_is_a_folder(box):
    check_fails(box, ["convert", box / "train.json", box / "dyn"], "dyn: is a folder")


def test_convert_output_parent_is_a_file(box):
    check_fails(box, ["convert", box / "train.json", box / "metrics.json" / "out.spacy"], "metrics.json: is a file")


def test_convert_unknown_format(box):
    check_fails(box, ["convert", box / "train.json", box / "out.spacy", "--format", "xml"], "'xml'")


def test_convert_full_disk(box, monkeypatch):
    from spacy_dynclean.docbin import Compressed

    def full(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Compressed, "close", full)  # the last write of a DocBin file
    line = check_fails(box, ["convert", box / "train.json", box / "out.spacy"], "No space left on device")
    assert "free some disk space" in line


def test_convert_read_only_folder(box, monkeypatch):
    real_touch = Path.touch

    def denied(self, *args, **kwargs):
        if self.parent == box / "ro":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_touch(self, *args, **kwargs)

    (box / "ro").mkdir()
    monkeypatch.setattr(Path, "touch", denied)
    line = check_fails(box, ["convert", box / "train.json", box / "ro" / "out.spacy"], "out.spacy")
    assert "Permission denied" in line and "check the permissions" in line


def test_convert_strips_a_byte_order_mark(box):
    path = box / "bom.conll"
    path.write_bytes("\ufeffKarl B-PER\nCrary I-PER\nteaches O\n".encode("utf8"))
    result = RUNNER.invoke(app, ["convert", str(path), str(box / "bom.spacy")])
    assert result.exit_code == 0, result.output
    from spacy_dynclean.convert import doc_id_for, read_docbin

    doc = read_docbin(box / "bom.spacy")[0]
    assert doc[0].text == "Karl" and [e.text for e in doc.ents] == ["Karl Crary"]
    assert doc.user_data["dynclean_id"] == doc_id_for(["Karl", "Crary", "teaches"], 0)


# --- convert-dir -----------------------------------------------------------------------------------


def dataset(box: Path, name: str = "data") -> Path:
    folder = box / name
    folder.mkdir()
    for split in ("train-ds", "train-gs", "dev", "test"):
        (folder / f"{split}.json").write_text(json.dumps(RECORDS), encoding="utf8")
    return folder


def test_convert_dir_refuses_two_files_for_a_split(box):
    folder = dataset(box)
    (folder / "train-ds.conll").write_text("Karl B-PER\n", encoding="utf8")
    line = check_fails(box, ["convert-dir", folder, box / "corpus"], "train-ds")
    assert "train-ds.conll" in line and "train-ds.json" in line


def test_convert_dir_missing_split(box):
    folder = dataset(box)
    (folder / "test.json").unlink()
    check_fails(box, ["convert-dir", folder, box / "corpus"], "no test file")


def test_convert_dir_one_bad_split_leaves_the_old_folder_whole(box):
    folder = dataset(box)
    result = RUNNER.invoke(app, ["convert-dir", str(folder), str(box / "corpus")])
    assert result.exit_code == 0, result.output
    other = dataset(box, "other")
    (other / "dev.json").write_text("[{", encoding="utf8")
    check_fails(box, ["convert-dir", other, box / "corpus"], "dev.json")


def test_convert_dir_removes_a_stale_train_gs(box):
    folder = dataset(box)
    assert RUNNER.invoke(app, ["convert-dir", str(folder), str(box / "corpus")]).exit_code == 0
    (folder / "train-gs.json").unlink()
    result = RUNNER.invoke(app, ["convert-dir", str(folder), str(box / "corpus")])
    assert result.exit_code == 0 and not (box / "corpus" / "train-gs.spacy").exists()


def test_convert_dir_output_inside_the_input(box):
    folder = dataset(box)
    check_fails(box, ["convert-dir", folder, folder / "corpus"], "lies inside the input")


def test_convert_dir_input_is_a_file(box):
    check_fails(box, ["convert-dir", box / "train.json", box / "corpus"], "is a file, not a dataset folder")


# --- train -----------------------------------------------------------------------------------------


def test_train_dynamics_folder_is_a_file(box):
    check_fails(box, ["train", "cnn", box / "out", "--paths.train", box / "train.spacy", "--paths.dev",
                      box / "train.spacy", "--paths.dynamics", box / "metrics.json"], "metrics.json: is a file")


def test_train_unwritable_dynamics_folder_fails_before_training(box, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == box / "ro" else real_access(p, mode))
    (box / "ro").mkdir()
    line = check_fails(box, ["train", "cnn", box / "out", "--paths.train", box / "train.spacy", "--paths.dev",
                             box / "train.spacy", "--paths.dynamics", box / "ro" / "dyn"], "not writable")
    assert "ro" in line


def test_train_missing_corpus(box):
    check_fails(box, ["train", "cnn", box / "out", "--paths.train", box / "nope.spacy"], "nope.spacy: no such corpus")


@pytest.mark.parametrize("damage,expect", [("zero", "holds no docs (--paths.dev)"),
                                           ("truncated", "not a readable DocBin (--paths.dev")])
def test_train_empty_or_truncated_dev_set(box, damage, expect):
    from spacy.tokens import DocBin

    dev = box / "dev-bad.spacy"
    if damage == "zero":
        DocBin().to_disk(dev)
    else:
        data = (box / "train.spacy").read_bytes()
        dev.write_bytes(data[: len(data) // 2])
    line = check_fails(box, ["train", "cnn", box / "out", "--paths.train", box / "train.spacy", "--paths.dev", dev],
                       "dev-bad.spacy")
    assert expect in line and not (box / "out").exists()


@pytest.mark.parametrize("override,expect", [
    (["--training.max_epochs", "abc"], "[training] max_epochs: Input should be a valid integer"),
    (["--training.seed", "1.5"], "[training] seed"),
    (["--nosection.x", "1"], "[nosection] x"),
])
def test_train_bad_override_fails_before_the_output_folder(box, override, expect):
    # spaCy's own config errors go to stdout once the output folder exists: checked before, one line on stderr
    line = check_fails(box, ["train", "cnn", box / "out", "--paths.train", box / "train.spacy", "--paths.dev",
                             box / "train.spacy", *override], expect)
    assert "cnn.cfg" in line and not (box / "out").exists()


def test_train_output_onto_an_input(box):
    check_fails(box, ["train", "cnn", box / "train.spacy", "--paths.train", box / "train.spacy"], "train.spacy")


def test_train_callback_checks_the_folder_at_once(box):
    from spacy_dynclean.recording.callbacks import create_record_dynamics
    from spacy_dynclean.util import DynCleanError

    with pytest.raises(DynCleanError, match="metrics.json: is a file"):
        create_record_dynamics(box / "metrics.json" / "dyn")


# --- clean -----------------------------------------------------------------------------------------


def test_clean_output_onto_the_dynamics_file(box):
    check_fails(box, clean_args(box, "dyn/dynamics.json"), "lies inside the input")


def test_clean_report_onto_the_dynamics_file(box):
    check_fails(box, clean_args(box, "out/c.spacy", "--report", str(box / "dyn" / "dynamics.json")), "dynamics.json")


def test_clean_output_onto_the_corpus(box):
    check_fails(box, clean_args(box, "train.spacy"), "the output is the input")


def test_clean_report_onto_the_output(box):
    check_fails(box, clean_args(box, "out/c.spacy", "--report", str(box / "out" / "c.spacy")), "given twice")


@pytest.mark.parametrize("name", ["dynamics.json", "margins-001.npy", "doc.npy"])
@pytest.mark.parametrize("damage", ["truncate", "empty", "text"])
def test_clean_damaged_dynamics(box, damage, name):
    path = box / "dyn" / name
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "empty": b"", "text": b"hello"}[damage])
    assert "truncated or corrupt" in check_fails(box, clean_args(box), name)


def test_clean_dynamics_epoch_file_missing(box):
    (box / "dyn" / "probs-001.npy").unlink()
    assert "record the run again" in check_fails(box, clean_args(box), "probs-001.npy")


def test_clean_damaged_format_1_dynamics(box):
    """Format 1 (one dynamics.npz) is still read, and a damaged one is named."""
    (box / "dyn" / "dynamics.json").unlink()
    (box / "dyn" / "dynamics.npz").write_bytes(b"hello")
    assert "truncated or corrupt" in check_fails(box, clean_args(box), "dynamics.npz")


def test_clean_nan_margins(box):
    dyn = Dynamics.from_disk(box / "dyn")
    dyn.margins[3, 1] = numpy.nan
    dyn.to_disk(box / "dyn")
    assert "NaN or infinite" in check_fails(box, clean_args(box), "dynamics.json")


@pytest.mark.parametrize("damage,expect", [("nan_prob", "probabilities are NaN or outside 0..1"),
                                           ("big_prob", "probabilities are NaN or outside 0..1"),
                                           ("pred", "predicted labels out of range")])
def test_clean_bad_recorded_values(box, damage, expect):
    """Values a recording cannot write are refused, not silently read as flags."""
    dyn = Dynamics.from_disk(box / "dyn")
    if damage == "nan_prob":
        dyn.probs[3, 1] = numpy.nan
    elif damage == "big_prob":
        dyn.probs[5, 0] = 1.5
    else:
        dyn.pred[7, 0] = len(dyn.labels) + 3
    dyn.to_disk(box / "dyn")
    assert expect in check_fails(box, clean_args(box), "dynamics.json")


def test_clean_wrong_shapes(box):
    dyn = Dynamics.from_disk(box / "dyn")
    dyn.probs = dyn.probs[:-1]
    dyn.to_disk(box / "dyn")
    assert "shape" in check_fails(box, clean_args(box), "dynamics.json")


def test_clean_threshold_run_given_as_the_main_run(box):
    args = clean_args(box)
    args[args.index(str(box / "dyn"))] = str(box / "thr")
    assert "threshold samples" in check_fails(box, args, "thr")


def test_clean_main_run_given_as_the_threshold_run(box):
    args = clean_args(box)
    args[args.index(str(box / "thr"))] = str(box / "dyn")
    assert "no threshold samples" in check_fails(box, args, "dyn")


def test_clean_k_beyond_the_recorded_epochs(box):
    assert "recorded 2 epochs" in check_fails(box, clean_args(box, "out/c.spacy", "--detectors.aum.k", "9"), "dyn")


def test_clean_corpus_is_not_a_docbin(box):
    args = clean_args(box)
    args[args.index(str(box / "train.spacy"))] = str(box / "train.json")
    check_fails(box, args, "train.json: not a readable DocBin")


def test_clean_missing_config(box):
    args = clean_args(box)
    args[1] = str(box / "nope.cfg")
    check_fails(box, args, "nope.cfg: no such cleaning config")


def test_clean_malformed_config(box):
    (box / "bad.cfg").write_text("this is [not an ini\n", encoding="utf8")
    args = clean_args(box)
    args[1] = str(box / "bad.cfg")
    check_fails(box, args, "bad.cfg")


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_clean_empty_config(box, text):
    (box / "empty.cfg").write_text(text, encoding="utf8")
    args = clean_args(box)
    args[1] = str(box / "empty.cfg")
    assert "init-config" in check_fails(box, args, "empty.cfg: is empty")


def test_clean_bad_override_value(box):
    check_fails(box, clean_args(box, "out/c.spacy", "--detectors.aum.negative_percentile", "-5"),
                "[detectors.aum] negative_percentile")


@pytest.mark.parametrize("value", ["2.5", "abc", "0", "true"])
def test_clean_span_length_not_a_whole_number(box, value):
    check_fails(box, clean_args(box, "out/c.spacy", "--evidence.max_span_length", value),
                "[evidence] max_span_length must be a whole number")


def test_clean_strategy_names_a_detector_the_decision_does_not_read(box):
    args = clean_args(box, "out/c.spacy", "--decision.strategy", '{"@misc": "spacy-dynclean.correct.v1"}',
                      "--decision.strategy.detectors", '["heldout"]')
    check_fails(box, args, "[decision.strategy] detectors: 'heldout' is not a detector the decision reads")


def test_clean_malformed_evidence(box):
    (box / "heldout.json").write_text('{"format": "spacy-dynclean.heldout.v1", "forms": [["The"]]}')
    args = clean_args(box, "out/c.spacy", "--paths.heldout", str(box / "heldout.json"), "--decision.positives",
                      '["heldout"]')
    check_fails(box, args, "heldout.json: form 0")


def test_clean_output_parent_is_a_file(box):
    check_fails(box, clean_args(box, "metrics.json/c.spacy"), "metrics.json: is a file")


def test_clean_corpus_of_other_docs(box):
    write_docbin(docs_of(box, RECORDS[:2], "two"), box / "two.spacy")
    (box / "two.json").unlink()
    args = clean_args(box)
    args[args.index(str(box / "train.spacy"))] = str(box / "two.spacy")
    check_fails(box, args, "two.spacy")


def test_clean_leaves_no_temporary_file_when_the_strategy_fails(box, monkeypatch):
    from spacy_dynclean.cleaning import strategies

    def broken(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(strategies, "clean_docs", broken)
    check_fails(box, clean_args(box), "No space left on device")


# --- heldout ---------------------------------------------------------------------------------------


def test_heldout_model_is_not_a_pipeline(box):
    check_fails(box, ["heldout", box / "dyn", box / "gold.spacy", box / "ev.json"], "not a trained pipeline")


def test_heldout_dev_is_corrupt(box):
    (box / "dev.spacy").write_bytes(b"\x00\x01garbage")
    check_fails(box, ["heldout", box / "model", box / "dev.spacy", box / "ev.json"], "dev.spacy: not a readable DocBin")


def test_heldout_output_onto_the_dev_set(box):
    check_fails(box, ["heldout", box / "model", box / "gold.spacy", box / "gold.spacy"], "the output is the input")


def test_heldout_output_inside_the_model(box):
    check_fails(box, ["heldout", box / "model", box / "gold.spacy", box / "model" / "ev.json"], "lies inside")


# --- audit -----------------------------------------------------------------------------------------


def cleaned(box: Path) -> Path:
    result = RUNNER.invoke(app, clean_args(box, "c/clean.spacy", "--detectors.aum.negative_percentile", "100"))
    assert result.exit_code == 0, result.output
    return box / "c" / "clean.spacy"


def test_audit_distant_and_gold_swapped(box):
    c = cleaned(box)
    line = check_fails(box, ["audit", box / "gold.spacy", c, box / "train.spacy", "-o", box / "a.json"], "clean.spacy")
    assert "swapped" in line


def test_audit_cleaned_given_as_gold(box):
    c = cleaned(box)
    check_fails(box, ["audit", box / "train.spacy", c, c, "-o", box / "a.json"], "written by `clean`")


def test_audit_negative_span_length(box):
    c = cleaned(box)
    check_fails(box, ["audit", box / "train.spacy", c, box / "gold.spacy", "-o", box / "a.json",
                      "--max-span-length", "-3"], "--max-span-length")


def test_audit_gold_of_other_sentences(box):
    c = cleaned(box)
    write_docbin(docs_of(box, GOLD[:2], "two"), box / "two.spacy")
    (box / "two.json").unlink()
    line = check_fails(box, ["audit", box / "train.spacy", c, box / "two.spacy", "-o", box / "a.json"], "two.spacy")
    assert "doc id" in line


def test_audit_output_onto_the_gold_file(box):
    c = cleaned(box)
    check_fails(box, ["audit", box / "train.spacy", c, box / "gold.spacy", "-o", box / "gold.spacy"],
                "the output is the input")


# --- report ----------------------------------------------------------------------------------------


def test_report_not_a_clean_report(box):
    check_fails(box, ["report", box / "dyn", box / "plots", "--clean-report", box / "metrics.json"],
                "metrics.json: not a clean report")


def test_report_k_out_of_range(box):
    check_fails(box, ["report", box / "dyn", box / "plots", "--k", "0"], "--k must be in 1..2")


def test_report_output_folder_is_a_file(box):
    check_fails(box, ["report", box / "dyn", box / "metrics.json"], "metrics.json: is a file")


# --- compare and fill ------------------------------------------------------------------------------


def test_compare_not_a_metrics_file(box):
    check_fails(box, ["compare", f"x={box / 'heldout.json'}", "-o", box / "cmp.md"], "heldout.json")


@pytest.mark.parametrize("text", ["null", "[1, 2]", '"ents_f"'])
def test_compare_metrics_not_an_object(box, text):
    (box / "m.json").write_text(text)
    assert "a JSON object with ents_p" in check_fails(box, ["compare", f"x={box / 'm.json'}", "-o", box / "c.md"],
                                                      "m.json")


def test_compare_spec_without_a_name(box):
    check_fails(box, ["compare", str(box / "metrics.json"), "-o", box / "cmp.md"], "expected NAME=metrics.json")


def test_compare_output_onto_its_input(box):
    check_fails(box, ["compare", f"x={box / 'metrics.json'}", "-o", box / "metrics.json"], "the output is the input")


def test_fill_model_missing(box):
    check_fails(box, ["fill", box / "nomodel", box / "train.spacy", box / "f.spacy"], "nomodel: no such pipeline")


# --- interruptions ---------------------------------------------------------------------------------


def test_sigterm_during_a_write_leaves_nothing(tmp_path):
    code = textwrap.dedent(f"""
        import os, signal
        from spacy_dynclean.outputs import Outputs
        with Outputs([r"{tmp_path / 'a.txt'}", r"{tmp_path / 'b.txt'}"]) as out:
            out.path(r"{tmp_path / 'a.txt'}").write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
            out.path(r"{tmp_path / 'b.txt'}").write_text("never")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_a_killed_run_leaves_a_temporary_file_the_next_run_removes(box):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = box / f".out.spacy.{dead.stdout.strip()}.dynclean-tmp"
    stale.write_text("half-written by a SIGKILLed run")
    result = RUNNER.invoke(app, ["convert", str(box / "train.json"), str(box / "out.spacy")])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and (box / "out.spacy").exists()
    assert not [p for p in box.iterdir() if p.name.endswith(".dynclean-tmp")]


def test_sigterm_to_a_command_one_line(box):
    """A real command killed with SIGTERM while it works: one line, exit 143, no output."""
    before = tree(box)
    code = textwrap.dedent(f"""
        import os, signal, sys
        import spacy_dynclean.convert as convert
        real = convert.write_docbin
        def slow(docs, path):
            real(docs, path)
            os.kill(os.getpid(), signal.SIGTERM)
        convert.write_docbin = slow
        sys.argv = ["spacy_dynclean", "convert", r"{box / 'train.json'}", r"{box / 'out.spacy'}"]
        from spacy_dynclean.cli import main
        main()
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 143, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and "nothing was written" in lines[0]
    assert tree(box) == before


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_interrupt_after_the_outputs_were_written_says_so(box, sig):
    """An interrupt after the commit (while the command prints its summary) must not claim that nothing
    was written: the outputs are there, complete."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        import spacy_dynclean.outputs as outputs
        real = outputs.Outputs.commit
        def commit_then_interrupt(self):
            real(self)
            os.kill(os.getpid(), signal.{sig})
        outputs.Outputs.commit = commit_then_interrupt
        sys.argv = ["spacy_dynclean", "convert", r"{box / 'train.json'}", r"{box / 'out.spacy'}"]
        from spacy_dynclean.cli import main
        main()
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 128 + getattr(signal, sig), result.stderr
    assert len(lines) == 1 and "every output is new and complete" in lines[0], lines
    assert (box / "out.spacy").exists()


def test_report_threshold_run_of_another_corpus(box):
    other = docs_of(box, GOLD, "other")  # other labels: another corpus's fingerprint
    make_dynamics(other, threshold=True).to_disk(box / "thr-other")
    check_fails(box, ["report", box / "dyn", box / "plots", "-t", box / "thr-other"], "another corpus")
    assert not (box / "plots").exists()
