import json
import subprocess
import sys

import pytest
import spacy

from spacy_dynclean.clean import run_clean
from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.detectors import heldout_forms
from spacy_dynclean.heldout import FormEvidence, collect_evidence, flag_forms, run_heldout
from spacy_dynclean.util import DynCleanError

from .helpers import RECORDS, docs_of, make_dynamics, overrides, write_setup

# a gold dev set: "The" is never an entity, "Berlin" is a LOC, "Paris" a LOC
DEV = [
    {"tokens": ["The", "man", "from", "Berlin"], "entities": [[3, 3, "LOC"]]},
    {"tokens": ["The", "Paris", "show"], "entities": [[1, 1, "LOC"]]},
]


def ruler_nlp():
    """A pipeline that repeats the distant labels' mistakes: "The" is MISC,
    Berlin is not an entity."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "MISC", "pattern": "The"}, {"label": "LOC", "pattern": "Paris"}])
    return nlp


def test_evidence_counts_by_hand():
    ev = FormEvidence()
    ev.add([(0, 1, "MISC", "The"), (3, 4, "LOC", "Paris")], [(3, 4, "LOC", "Paris"), (7, 8, "LOC", "Berlin")])
    ev.add([(0, 1, "MISC", "The")], [(0, 1, "PER", "The")])
    assert ev.predicted[("The", "MISC")] == 2 and ev.correct[("The", "MISC")] == 0
    assert ev.precision(("Paris", "LOC")) == 1.0
    assert ev.missed[("Berlin", "LOC")] == 1 and ev.missed[("The", "PER")] == 1
    assert ev.wrong_forms() == {("The", "MISC")}
    assert ev.wrong_forms(min_predicted=3) == set()
    assert ev.missed_forms() == {"Berlin", "The"}
    assert ev.docs == 2


def test_collect_evidence_on_docs_of_another_vocab(tmp_path):
    dev = docs_of(tmp_path, DEV, "dev")  # read with a blank Vocab, as `read_docbin` does
    ev = collect_evidence(ruler_nlp(), dev)
    assert ev.predicted[("The", "MISC")] == 2 and ev.correct[("The", "MISC")] == 0
    assert ev.correct[("Paris", "LOC")] == 1
    assert ev.missed_forms() == {"Berlin"}
    assert [e.text for e in dev[0].ents] == ["Berlin"]  # the gold docs are untouched


def test_flag_forms_marks_the_forms_in_the_training_corpus(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs)
    ev = collect_evidence(ruler_nlp(), docs_of(tmp_path, DEV, "dev"))
    pos, neg = flag_forms(dyn, docs, ev)
    assert sorted(dyn.keys()[i][1:] for i in pos.nonzero()[0]) == [(0, 1)]  # "The" MISC
    assert sorted(dyn.keys()[i][1:] for i in neg.nonzero()[0]) == [(7, 8)]  # "Berlin"
    assert not (neg & dyn.positive).any()
    pos, neg = flag_forms(dyn, docs, ev, negatives=False, min_predicted=3)
    assert not pos.any() and not neg.any()


def test_run_clean_with_heldout_evidence(tmp_path):
    write_setup(tmp_path)  # no sample has a low margin: dynamics flag nothing
    ev = collect_evidence(ruler_nlp(), docs_of(tmp_path, DEV, "dev"))
    ev.to_disk(tmp_path / "ev.json")
    percentiles = {"detectors.aum.positive_percentile": 0, "detectors.aum.negative_percentile": 0}
    report = run_clean("default", tmp_path / "c.spacy", overrides=overrides(tmp_path, tmp_path / "ev.json",
                                                                             **percentiles))
    assert report["flagged_positives"] == 1 and report["flagged_negatives"] == 1
    assert report["detectors"]["heldout"]["wrong_forms"] == 1 and report["detectors"]["heldout"]["dev_docs"] == 2
    assert report["detectors"]["aum"]["flagged_positives"] == 0
    assert "detector `heldout`: 1 positives, 1 negatives flagged" in (tmp_path / "c.report.md").read_text()
    doc = read_docbin(tmp_path / "c.spacy")[0]
    assert [e.text for e in doc.ents] == ["Paris", "Anna"]
    assert sorted(s.text for s in doc.spans["dynclean_ignored"]) == ["Berlin", "The"]
    # the dynamics alone, with the same settings, flag nothing
    report = run_clean("default", tmp_path / "c2.spacy", overrides=overrides(tmp_path, **percentiles))
    assert report["flagged_positives"] == 0 and "heldout" not in report["detectors"]


def test_evidence_round_trip_and_bad_files(tmp_path):
    ev = FormEvidence()
    ev.add([(0, 1, "MISC", "The")], [(3, 4, "LOC", "Berlin")])
    ev.to_disk(tmp_path / "ev.json")
    back = FormEvidence.from_disk(tmp_path / "ev.json")
    assert back.predicted == ev.predicted and back.missed == ev.missed and back.docs == 1
    cases = {
        "malformed.json": "{not json",
        "format.json": json.dumps({"forms": []}),
        "row.json": json.dumps({"format": "spacy-dynclean.heldout.v1", "forms": [["The", "MISC", 1]]}),
        "counts.json": json.dumps({"format": "spacy-dynclean.heldout.v1", "forms": [["The", "MISC", 1, 2, 0, 0]]}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf8")
        with pytest.raises(DynCleanError, match=name):
            FormEvidence.from_disk(tmp_path / name)
    with pytest.raises(DynCleanError, match="no such file"):
        FormEvidence.from_disk(tmp_path / "missing.json")


@pytest.mark.parametrize("field,value", [("min_predicted", 0), ("max_precision", 1.5), ("min_missed_share", -0.1),
                                         ("min_predicted", True)])
def test_heldout_settings_are_validated(field, value):
    with pytest.raises(DynCleanError, match=field):
        heldout_forms(**{field: value})


def test_run_heldout_and_cli(tmp_path):
    write_docbin(docs_of(tmp_path, DEV, "dev"), tmp_path / "dev.spacy")
    ruler_nlp().to_disk(tmp_path / "model")
    ev = run_heldout(tmp_path / "model", tmp_path / "dev.spacy", tmp_path / "ev.json")
    assert ev.wrong_forms() == {("The", "MISC")}
    assert FormEvidence.from_disk(tmp_path / "ev.json").meta["dev"] == str(tmp_path / "dev.spacy")
    with pytest.raises(DynCleanError, match="the output is the input"):
        run_heldout(tmp_path / "model", tmp_path / "dev.spacy", tmp_path / "dev.spacy")
    out = subprocess.run([sys.executable, "-m", "spacy_dynclean", "heldout", tmp_path / "nomodel",
                          tmp_path / "dev.spacy", tmp_path / "ev2.json"], capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "nomodel: no such pipeline" in out.stdout + out.stderr and not (tmp_path / "ev2.json").exists()


@pytest.mark.parametrize("positives,flagged", [(["heldout"], ["The"]), (["aum", "heldout"], ["Paris", "The"]),
                                               (["aum"], ["Paris"])])
def test_detectors_of_positives(tmp_path, positives, flagged):
    write_setup(tmp_path, low=[(0, 3, 4)])  # the dynamics suspect "Paris"; the dev evidence suspects "The"
    ev = collect_evidence(ruler_nlp(), docs_of(tmp_path, DEV, "dev"))
    ev.to_disk(tmp_path / "ev.json")
    over = overrides(tmp_path, tmp_path / "ev.json", **{"detectors.aum.negative_percentile": 0,
                                                         "decision.positives": positives})
    report = run_clean("default", tmp_path / "c.spacy", overrides=over)
    doc = read_docbin(tmp_path / "c.spacy")[0]
    removed = sorted({"The", "Paris", "Anna"} - {e.text for e in doc.ents})
    assert removed == flagged
    assert report["decision"]["positives"] == positives
