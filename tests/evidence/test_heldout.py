import json
import subprocess
import sys

import pytest
import spacy

from spacy_dynclean.cleaning.config import default_config
from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.cleaning.detectors.heldout_forms import heldout_forms_v2
from spacy_dynclean.legacy import heldout_forms
from spacy_dynclean.evidence.heldout import FormEvidence, collect_evidence, flag_forms, run_heldout, text_matcher
from spacy_dynclean.util import DynCleanError

from ..helpers import RECORDS, docs_of, make_dynamics, overrides, write_setup

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


# "Berlin" is a dev gold LOC once among three occurrences, "Paris" twice among two
RARE_DEV = [
    {"tokens": ["Berlin", "wins"], "entities": [[0, 0, "LOC"]]},
    {"tokens": ["Berlin", "Wall", "in", "Paris"], "entities": [[3, 3, "LOC"]]},
    {"tokens": ["the", "Berlin", "show", "in", "Paris"], "entities": [[4, 4, "LOC"]]},
]


def rare_evidence(tmp_path):
    return collect_evidence(spacy.blank("en"), docs_of(tmp_path, RARE_DEV, "dev"))  # predicts nothing


def test_occurrences_and_entity_share(tmp_path):
    ev = rare_evidence(tmp_path)
    assert ev.occurrences == {"Berlin": 3, "Paris": 2}
    assert ev.entity_share("Berlin") == pytest.approx(1 / 3) and ev.entity_share("Paris") == 1.0
    assert ev.entity_share("Paris", "PER") == 0.0 and ev.entity_share("Rome") == 0.0
    assert ev.missed_forms() == {"Berlin", "Paris"}
    assert ev.missed_forms(min_entity_share=0.5) == {"Paris"}
    assert ev.gold_labels() == {"Berlin": "LOC", "Paris": "LOC"}
    assert ev.gold_labels(min_entity_share=0.5) == {"Paris": "LOC"}
    assert ev.missed_forms(min_entity_share=0.3) == {"Berlin", "Paris"}


def test_text_matcher_tokens_without_spaces():
    nlp = spacy.blank("en")
    doc = nlp("EU-wide rules and EU-wide bans, not EU rules")
    assert [t.text for t in doc][:3] == ["EU", "-", "wide"]
    assert [m for m in text_matcher({"EU-wide", "EU rules"}, 8)(doc)] == [
        (0, 3, "EU-wide"), (5, 8, "EU-wide"), (11, 13, "EU rules")]
    assert list(text_matcher({"EU-wide"}, 2)(doc)) == []  # three tokens: longer than max_len


def test_occurrences_round_trip_and_v1_files(tmp_path):
    ev = rare_evidence(tmp_path)
    ev.to_disk(tmp_path / "ev.json")
    data = json.loads((tmp_path / "ev.json").read_text())
    assert data["format"] == "spacy-dynclean.heldout.v2" and ["Berlin", 3] in data["occurrences"]
    assert FormEvidence.from_disk(tmp_path / "ev.json").occurrences == ev.occurrences
    # a file of the first format has no occurrence counts: it loads, and asking for a share fails clearly
    v1 = dict(data, format="spacy-dynclean.heldout.v1")
    del v1["occurrences"]
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    old = FormEvidence.from_disk(tmp_path / "v1.json")
    assert old.occurrences is None and old.missed_forms() == ev.missed_forms()
    with pytest.raises(DynCleanError, match="run `heldout` again"):
        old.missed_forms(min_entity_share=0.5)
    for name, occ in (("noocc.json", None), ("badocc.json", [["Berlin", -1]]), ("shortocc.json", [["Berlin"]])):
        bad = dict(data)
        if occ is None:
            del bad["occurrences"]
        else:
            bad["occurrences"] = occ
        (tmp_path / name).write_text(json.dumps(bad))
        with pytest.raises(DynCleanError, match=name):
            FormEvidence.from_disk(tmp_path / name)


def v2_config(share):
    cfg = default_config()
    cfg["detectors"]["heldout"] = {"@misc": "spacy-dynclean.heldout_forms.v2", "min_entity_share": share}
    return cfg


@pytest.mark.parametrize("share,masked", [(0.0, ["Berlin"]), (0.5, []), (0.3, ["Berlin"])])
def test_heldout_v2_asks_for_enough_dev_evidence(tmp_path, share, masked):
    """The training corpus's unlabelled "Berlin" is a dev gold entity in one
    of its three dev occurrences: v1 (and v2 at share 0) call it a missed
    entity, v2 at 0.5 does not."""
    write_setup(tmp_path)
    rare_evidence(tmp_path).to_disk(tmp_path / "ev.json")
    over = overrides(tmp_path, tmp_path / "ev.json", **{"detectors.aum.negative_percentile": 0,
                                                         "detectors.aum.positive_percentile": 0})
    report = run_clean(v2_config(share), tmp_path / "c.spacy", overrides=over)
    doc = read_docbin(tmp_path / "c.spacy")[0]
    assert sorted(s.text for s in doc.spans.get("dynclean_ignored", [])) == masked
    assert report["flagged_negatives"] == len(masked)
    # three docs and a handful of dev entities: too few to say whether the dev set is gold
    assert report["detectors"]["heldout"]["dev_looks_distant"] is None
    if share == 0.0:  # the same as v1
        v1 = run_clean("default", tmp_path / "c1.spacy", overrides=over)
        assert v1["flagged_negatives"] == report["flagged_negatives"]


def test_heldout_v2_needs_occurrence_counts(tmp_path):
    write_setup(tmp_path)
    ev = rare_evidence(tmp_path)
    ev.occurrences = None  # as read from a v1 file
    ev.to_disk(tmp_path / "ev.json")
    assert json.loads((tmp_path / "ev.json").read_text())["format"] == "spacy-dynclean.heldout.v1"
    with pytest.raises(DynCleanError, match=r"ev\.json: .*no dev occurrence counts"):
        run_clean(v2_config(0.5), tmp_path / "c.spacy", overrides=overrides(tmp_path, tmp_path / "ev.json"))
    assert not (tmp_path / "c.spacy").exists()


@pytest.mark.parametrize("value", [-0.1, 1.5, True, "half"])
def test_heldout_v2_settings_are_validated(value):
    with pytest.raises(DynCleanError, match="min_entity_share"):
        heldout_forms_v2(min_entity_share=value)
