"""`clean` driven by a cleaning config: same behaviour as the 0.1 command
line by default, outputs written together, errors naming the section."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import srsly
from spacy.tokens import DocBin

from spacy_dynclean.cleaning.config import CONFIG_DIR, default_config, load_clean_config
from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.convert import read_docbin
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.util import DynCleanError

from ..helpers import RECORDED, overrides, write_setup

ROOT = Path(__file__).parents[2]


def recorded_overrides(case):
    base = {"paths.corpus": str(RECORDED / "train-ds.spacy"), "paths.dynamics": str(RECORDED / "dyn"),
            "paths.threshold_dynamics": str(RECORDED / "thr")}
    if case in ("heldout", "relabel_both"):
        base["paths.heldout"] = str(RECORDED / "heldout.json")
    if case == "dynamics":  # 0.1 without --heldout: positive_source auto fell back to the dynamics
        base.update({"decision.positives": ["aum"], "decision.negatives": ["aum"]})
    if case == "relabel_both":
        base.update({"decision.positives": ["aum", "heldout"],
                     "decision.strategy": {"@misc": "spacy-dynclean.relabel.v1"}})
    return base


@pytest.mark.parametrize("case", ["heldout", "dynamics", "relabel_both"])
def test_default_config_reproduces_the_01_command_line(tmp_path, case):
    """tests/data/recorded: a fixed small recorded run (make_recorded.py) and
    what `clean` of version 0.1 wrote from it with its default options."""
    expected = json.loads((RECORDED / "expected.json").read_text())[case]
    out = tmp_path / "clean.spacy"
    report = run_clean("default", out, overrides=recorded_overrides(case))
    assert report["flagged_rows"] == {"positives": expected["positives"], "negatives": expected["negatives"]}
    if case == "relabel_both":  # 0.1 wrote no change marks: compare the annotations doc by doc
        old = read_docbin(RECORDED / "expected-relabel-both.spacy")
        new = read_docbin(out)
        assert len(old) == len(new) == 60
        for a, b in zip(old, new):
            assert [(e.start, e.end, e.label_) for e in a.ents] == [(e.start, e.end, e.label_) for e in b.ents]
            assert [t.ent_iob_ for t in a] == [t.ent_iob_ for t in b]
            assert [(s.start, s.end) for s in a.spans.get("dynclean_ignored", [])] == \
                [(s.start, s.end) for s in b.spans.get("dynclean_ignored", [])]
    else:
        assert hashlib.sha256(out.read_bytes()).hexdigest() == expected["sha256"]


@pytest.mark.parametrize("name", ["clean.cfg", "clean_goldfree.cfg", "clean_combined.cfg"])
def test_configs_folder_holds_the_packaged_presets(name):
    assert (ROOT / "configs" / name).read_text() == (CONFIG_DIR / name).read_text()
    text = (CONFIG_DIR / name).read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):  # every setting is commented (the line above it, or its section's)
        if "=" in line and not line.startswith("#"):
            assert any(lines[j].startswith(("#", "[")) for j in range(max(0, i - 12), i)), line


def test_configs_folder_holds_the_packaged_default():
    cfg = default_config()
    assert cfg["decision"]["positives"] == ["heldout"] and cfg["decision"]["negatives"] == ["aum", "heldout"]


def test_outputs_and_resolved_config(tmp_path):
    write_setup(tmp_path, low=[(0, 0, 1), (0, 7, 8)])
    out = tmp_path / "out" / "clean.spacy"
    report = run_clean("default", out, overrides=overrides(tmp_path, **{
        "detectors.aum.positive_percentile": 100, "detectors.aum.negative_percentile": 100}))
    assert report["flagged_positives"] == 1 and report["flagged_negatives"] == 1
    assert report["detectors"]["aum"]["thresholds"]["positive"] == 0.0
    assert sorted(p.name for p in out.parent.iterdir()) == ["clean.cfg", "clean.report.json", "clean.report.md",
                                                           "clean.spacy"]
    assert len(DocBin().from_disk(out)) == 3
    written = srsly.read_json(out.with_suffix(".report.json"))
    assert written["resolved_config"] == (out.parent / "clean.cfg").read_text()
    assert "negative_percentile = 100" in written["resolved_config"]
    # the resolved config alone makes the same corpus again
    again = run_clean(out.parent / "clean.cfg", tmp_path / "again.spacy")
    assert again["flagged_rows"] == report["flagged_rows"]
    assert (tmp_path / "again.spacy").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("case", ["fingerprint", "unknown_ids", "labels", "no_threshold", "empty", "same_output",
                                  "report_is_corpus", "inside_dynamics", "threshold_as_main"])
def test_errors_write_nothing(tmp_path, case):
    docs = write_setup(tmp_path, threshold=case != "no_threshold")
    from spacy_dynclean.convert import write_docbin

    corpus = tmp_path / "train.spacy"
    out = tmp_path / "clean.spacy"
    report = None
    extra = {}
    if case == "fingerprint":
        docs[0].spans["sc"] = list(docs[0].spans["sc"])[1:]
        write_docbin(docs, corpus)
    elif case == "unknown_ids":
        docs[0].user_data["dynclean_id"] = "other-0"
        write_docbin(docs, corpus)
    elif case == "labels":
        thr = Dynamics.from_disk(tmp_path / "thr")
        thr.meta["labels"] = ["A", "B", "C"]
        thr.to_disk(tmp_path / "thr")
    elif case == "empty":
        write_docbin([], corpus)
    elif case == "same_output":
        out = corpus
    elif case == "report_is_corpus":
        report = corpus
    elif case == "inside_dynamics":
        out = tmp_path / "dyn" / "clean.spacy"
    elif case == "threshold_as_main":
        extra = {"paths.dynamics": str(tmp_path / "thr")}
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(DynCleanError):
        run_clean("default", out, overrides=overrides(tmp_path, **extra), report_path=report)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # no input changed, no output or temporary file left


def test_k_beyond_the_recorded_epochs_is_an_error(tmp_path):
    write_setup(tmp_path)
    with pytest.raises(DynCleanError, match=r"\[detectors.aum\] k=5, but .*recorded 2 epochs"):
        run_clean("default", tmp_path / "c.spacy", overrides=overrides(tmp_path, **{"detectors.aum.k": 5}))
    thr = Dynamics.from_disk(tmp_path / "thr")
    thr.margins, thr.probs, thr.pred = thr.margins[:, :1], thr.probs[:, :1], thr.pred[:, :1]
    thr.to_disk(tmp_path / "thr")
    with pytest.raises(DynCleanError, match="at least k epochs"):
        run_clean("default", tmp_path / "c.spacy", overrides=overrides(tmp_path, **{"detectors.aum.k": 2}))
    assert not (tmp_path / "c.spacy").exists()


@pytest.mark.parametrize("override,match", [
    ({"detectors.aum.kk": 1}, r"\[detectors.aum\] kk: unexpected argument"),
    ({"detectors.aum.negative_percentile": 150}, r"\[detectors.aum\] negative_percentile must be a number in 0..100"),
    ({"detectors.aum.negative_percentile": "abc"}, r"\[detectors.aum\] negative_percentile: 'abc' is not a number"),
    ({"detectors.aum.method": "magic"}, r"\[detectors.aum\] method must be one of"),
    ({"detectors.heldout.min_predicted": 0}, r"\[detectors.heldout\] min_predicted"),
    ({"decision.positives": ["nope"]}, r"\[decision\] positives: no detector 'nope'"),
    ({"decision.negative_rule": "most"}, r"\[decision\] negative_rule must be one of"),
    ({"decision.strategy.k": 2}, r"\[decision.strategy\] k: unexpected argument"),
    ({"decision.strategy.@misc": "spacy-dynclean.nothing.v1"}, r"\[decision.strategy\] .*Could not find function"),
    ({"evidence.max_length": 3}, r"\[evidence\] max_length: unknown setting"),
])
def test_bad_config_names_section_and_key(tmp_path, override, match):
    write_setup(tmp_path)
    with pytest.raises(DynCleanError, match=match):
        run_clean("default", tmp_path / "c.spacy", overrides=overrides(tmp_path, **override))
    assert not (tmp_path / "c.spacy").exists()


def test_missing_evidence_names_the_detector(tmp_path):
    write_setup(tmp_path)
    over = overrides(tmp_path)
    over.update({"decision.positives": ["heldout"]})
    with pytest.raises(DynCleanError, match=r"\[detectors.heldout\] needs paths.heldout"):
        run_clean("default", tmp_path / "c.spacy", overrides=over)


USER_DETECTOR = '''
import numpy
from spacy.util import registry
from spacy_dynclean.cleaning.contract import Suspicion

@registry.misc("my_tests.capital_the.v1")
def capital_the(word: str = "The"):
    def detect(evidence):
        samples = evidence.samples
        docs = evidence.docs_by_position()
        hit = numpy.array([docs[d][s:e].text == word for d, s, e in zip(samples.doc, samples.start, samples.end)])
        return Suspicion(positive=hit & samples.positive, negative=numpy.zeros(len(samples), bool),
                         score=hit.astype("float32"))
    return detect
'''


def test_a_detector_of_your_own_with_code(tmp_path):
    write_setup(tmp_path)  # the dynamics flag nothing
    (tmp_path / "mine.py").write_text(USER_DETECTOR, encoding="utf8")
    cfg = load_clean_config("default")
    cfg["detectors"]["the"] = {"@misc": "my_tests.capital_the.v1", "word": "The"}
    cfg["decision"]["positives"] = ["the"]
    cfg["decision"]["negatives"] = []
    cfg.to_disk(tmp_path / "mine.cfg")
    cmd = [sys.executable, "-m", "spacy_dynclean", "clean", tmp_path / "mine.cfg", tmp_path / "c.spacy",
           "--code", tmp_path / "mine.py", "--paths.corpus", tmp_path / "train.spacy"]
    out = subprocess.run(list(map(str, cmd)), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    doc = read_docbin(tmp_path / "c.spacy")[0]
    assert [e.text for e in doc.ents] == ["Paris", "Anna"]  # "The" flagged by the user's detector
    report = srsly.read_json(tmp_path / "c.report.json")
    assert report["detectors"]["the"]["flagged_positives"] == 1 and report["epochs_recorded"] == 0
    # without --code the function is unknown: one line naming the section
    out = subprocess.run(list(map(str, cmd[:6] + cmd[8:])), capture_output=True, text=True)
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1
    assert "[detectors.the]" in out.stderr and "my_tests.capital_the.v1" in out.stderr


def test_init_config_writes_the_default(tmp_path):
    out = subprocess.run([sys.executable, "-m", "spacy_dynclean", "init-config", str(tmp_path / "c.cfg")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.cfg").read_text() == (CONFIG_DIR / "clean.cfg").read_text()


def test_clean_help_is_short_and_not_truncated():
    env = {"COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "spacy_dynclean", "clean", "--help"], capture_output=True,
                         text=True, env=env)
    assert out.returncode == 0
    options = [line.split()[0] for line in out.stdout.splitlines() if line.strip().startswith("--")]
    assert options == ["--report", "--code", "--help"]
    assert "…" not in out.stdout


def test_an_override_no_decision_reads_is_a_warning(tmp_path):
    """`--detectors.aum.negative_percentile 90` on a preset whose decision reads no AUM changes nothing: say so."""
    from spacy_dynclean.cleaning.run import Cleaning

    cleaning = Cleaning.from_config("goldfree", {"detectors.structure.min_share": 0.6, "paths.corpus": "x.spacy"})
    assert cleaning.warnings == []  # the structure is read
    from spacy_dynclean.cleaning.config import default_config

    cfg = default_config("goldfree")
    cfg["detectors"]["aum"] = {"@misc": "spacy-dynclean.aum_detector.v1"}
    cleaning = Cleaning.from_config(cfg, {"detectors.aum.negative_percentile": 90, "paths.corpus": "x.spacy"})
    assert len(cleaning.warnings) == 1 and "reads no detector 'aum'" in cleaning.warnings[0]
