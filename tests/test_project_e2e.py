"""`spacy project run smoke` on the real webpage data (../shared)."""
import os
import subprocess
import sys

import pytest
import srsly

from spacy_dynclean.convert import read_docbin

from .helpers import copy_project

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.mark.e2e
@pytest.mark.slow
def test_smoke_workflow_on_webpage(tmp_path, webpage_dir):
    project = copy_project(tmp_path)
    data_dir = webpage_dir.parent
    cmd = [sys.executable, "-m", "spacy", "project", "run", "smoke", str(project),
           "--vars.dataset", "webpage", "--vars.data_dir", str(data_dir), "--vars.epochs", "6"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=project)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    m = project / "metrics" / "webpage" / "cnn"
    outputs = [
        project / "corpus/webpage/train-ds.spacy", project / "corpus/webpage/train-gs.spacy",
        project / "dynamics/webpage/cnn/noisy/dynamics.json",
        project / "dynamics/webpage/cnn/heldout.json",
        project / "corpus/webpage/cnn/train-cleaned.spacy",
        project / "training/webpage/cnn/noisy/model-best", project / "training/webpage/cnn/cleaned/model-best",
        m / "clean-report.json", m / "clean-report.md", m / "audit.json", m / "noisy.json",
        m / "cleaned.json", m / "compare.md", m / "compare.png",
    ]
    for path in outputs:
        assert path.exists(), path
    # two trainings: the noisy baseline (which records) and the cleaned one; no threshold run
    assert sorted(p.name for p in (project / "training/webpage/cnn").iterdir()) == ["cleaned", "noisy"]
    assert not (project / "dynamics/webpage/cnn/threshold").exists()
    distant = read_docbin(project / "corpus/webpage/train-ds.spacy")
    cleaned = read_docbin(project / "corpus/webpage/cnn/train-cleaned.spacy")
    assert len(cleaned) <= len(distant)
    assert sum(len(d.ents) for d in cleaned) <= sum(len(d.ents) for d in distant)
    report = srsly.read_json(m / "clean-report.json")
    assert report["docs_in"] == len(distant) and report["docs_out"] == len(cleaned)
    assert report["detectors"]["heldout"]["dev_docs"] == 99  # webpage's gold dev set
    assert report["flagged_positives"] >= report["detectors"]["heldout"]["flagged_positives"]
    # the recorded dynamics are read: the learned detector ran on the recording and flagged missed entities
    learned = report["detectors"]["learned"]
    assert learned["k"] >= 1 and learned["flagged_negatives"] > 0
    assert report["decision"]["trusted"]["negatives"] == ["heldout", "structure", "learned"]
    # the resolved cleaning config beside the corpus makes the same corpus again
    config = (project / "corpus/webpage/cnn/train-cleaned.cfg").read_text()
    assert config == report["resolved_config"] and 'positives = ["heldout", "structure"]' in config
    audit = srsly.read_json(m / "audit.json")
    for key in ("fp_precision", "fp_recall", "fn_precision", "fn_recall", "labels_f1_before", "labels_f1_after"):
        assert 0.0 <= audit[key] <= 1.0
    table = (m / "compare.md").read_text(encoding="utf8")
    assert "| noisy |" in table and "| cleaned |" in table
    # the cleaned pipeline loads in a fresh process and tags a training sentence
    doc0 = next(d for d in distant if len(d.ents) >= 2)
    text = " ".join(t.text for t in doc0)
    code = (
        "import spacy, sys; nlp = spacy.load(sys.argv[1]); doc = nlp(sys.argv[2]);"
        "print(len(doc.ents)); print([(e.text, e.label_) for e in doc.ents])"
    )
    models = [project / "training/webpage/cnn/cleaned/model-best", project / "training/webpage/cnn/noisy/model-best"]
    counts = []
    for model in models:
        out = subprocess.run([sys.executable, "-c", code, str(model), text], capture_output=True, text=True, env=ENV)
        assert out.returncode == 0, out.stderr[-2000:]
        counts.append(int(out.stdout.splitlines()[0]))
    assert max(counts) > 0, f"no entities found in {text!r}"
    # recording is inert at inference: loading and tagging wrote no dynamics
    assert not any((project / "training").rglob("dynamics.*"))
    # all-one-run: the same noisy baseline (weasel reuses it) and one training that cleans inside itself
    cmd = [sys.executable, "-m", "spacy", "project", "run", "all-one-run", str(project), "--vars.dataset", "webpage",
           "--vars.data_dir", str(data_dir), "--vars.epochs", "6", "--vars.one_run_after_epochs", "1"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=project)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Skipping 'dynamics'" in result.stdout  # no second noisy training
    one_run = project / "training/webpage/cnn/one-run"
    assert (one_run / "model-best").exists() and (one_run / "train-cleaned.report.json").exists()
    assert sorted(p.name for p in (project / "training/webpage/cnn").iterdir()) == ["cleaned", "noisy", "one-run"]
    table = (m / "compare-one-run.md").read_text(encoding="utf8")
    assert "| noisy |" in table and "| one-run |" in table and (m / "compare-one-run.png").exists()
    one_audit = srsly.read_json(m / "one-run-audit.json")
    assert one_audit["labels_f1_before"] == audit["labels_f1_before"]  # the same distant and gold labels
    # the other workflows: self-training, review, upper-bound (gold training) and verify, the first step of `all`
    for workflow in ("selftrain", "review", "upper-bound", "verify"):
        cmd = [sys.executable, "-m", "spacy", "project", "run", workflow, str(project), "--vars.dataset", "webpage",
               "--vars.data_dir", str(data_dir), "--vars.epochs", "2"]
        result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=project)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (project / "review/webpage/cnn/review.html").exists()
    fill = srsly.read_json(m / "fill-report.json")
    assert fill["changes"]["masked_regions"] > 0 and (m / "student.json").exists()
    gold = srsly.read_json(m / "gold.json")
    assert 0.0 <= gold["ents_f"] <= 1.0
    assert "files match their sha256" in result.stdout
