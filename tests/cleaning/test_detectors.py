import numpy
import pytest

from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.cleaning.contract import Suspicion
from spacy_dynclean.cleaning.detectors.aum import aum_detector
from spacy_dynclean.cleaning.detectors.name_structure import loose_edge_trim, name_structure_suspicion, name_structure_v3
from spacy_dynclean.cleaning.detectors.out_of_fold import out_of_fold_suspicion
from spacy_dynclean.cleaning.detectors.per_form import per_form_suspicion
from spacy_dynclean.legacy import name_structure, name_structure_v2
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.evidence.folds import FoldPredictions
from spacy_dynclean.util import DynCleanError

from ..helpers import docs_of

# distant labels with a partial match ("York" PER), a common word ("The" MISC)
# and a missed name ("Carl Lee"); the corpus labels "New York" as LOC elsewhere
CASED = [
    {"tokens": "the press in New York waited".split(), "entities": [[4, 4, "PER"]]},
    {"tokens": "The mayor met Anna Berg".split(), "entities": [[0, 0, "MISC"], [3, 4, "PER"]]},
    {"tokens": "Anna Berg visited Acme in New York".split(), "entities": [[0, 1, "PER"], [3, 3, "ORG"], [5, 6, "LOC"]]},
    {"tokens": "he met Carl Lee in Oslo".split(), "entities": [[5, 5, "LOC"]]},
    {"tokens": "the cat and the dog met the mayor".split(), "entities": []},
    {"tokens": "he said the press left".split(), "entities": []},
    {"tokens": "he and the mayor of Oslo".split(), "entities": [[5, 5, "LOC"]]},
]


def cased_evidence(tmp_path, records=CASED):
    docs = docs_of(tmp_path, records, "cased")
    write_docbin(docs, tmp_path / "cased.spacy")
    return Evidence.load({"corpus": str(tmp_path / "cased.spacy")}, max_span_length=3)


def flagged(ev, mask):
    docs = ev.docs_by_position()
    s = ev.samples
    return sorted(docs[int(s.doc[r])][int(s.start[r]): int(s.end[r])].text for r in numpy.nonzero(mask)[0])


def test_name_structure_flags_and_suggests(tmp_path):
    ev = cased_evidence(tmp_path)
    s = name_structure_suspicion(ev)
    assert flagged(ev, s.positive) == ["The", "York"]
    assert flagged(ev, s.negative) == ["Carl Lee", "New York"]  # the missed name and the partial match's run
    labels = ev.labels
    props = {(ev.docs_by_position()[d][st:en].text, -1 if lab < 0 else (labels + ["O"])[lab])
             for d, st, en, lab in zip(s.proposals.doc, s.proposals.start, s.proposals.end, s.proposals.label)}
    assert props == {("New York", "LOC"), ("The", "O"), ("Carl Lee", -1)}
    assert s.details["partial_matches"] == 1 and s.details["common_words"] == 1 and s.details["unlabelled_names"] == 1


@pytest.mark.parametrize("words,trim", [
    ("European Union and".split(), (0, 1)),
    ("News Corp 's".split(), (0, 1)),
    ("of the Bank of Japan for".split(), (2, 1)),
    ("Bank of Japan".split(), (0, 0)),  # a lower-case word inside a name is no loose edge
    ("de Silva".split(), (1, 0)),
    ("and the".split(), (0, 0)),  # nothing would remain: no trim
    (['"Hybrid', 'Solids"'], (0, 0)),  # punctuation is no cue (quoted titles keep their quotes)
])
def test_loose_edge_trim(words, trim):
    assert loose_edge_trim(words) == trim


# a distant entity with a loose edge ("European Union and" ORG): v2 re-bounds it, v1 leaves it
LOOSE = CASED + [
    {"tokens": "the European Union and Oslo met".split(), "entities": [[1, 3, "ORG"], [4, 4, "LOC"]]},
]


def test_name_structure_v2_trims_loose_edges(tmp_path):
    ev = cased_evidence(tmp_path, LOOSE)
    v1, v2 = name_structure(confidence=0.9)(ev), name_structure_v2(confidence=0.9)(ev)
    assert "European Union and" not in flagged(ev, v1.positive)
    assert flagged(ev, v2.positive) == sorted(flagged(ev, v1.positive) + ["European Union and"])
    docs, labels = ev.docs_by_position(), ev.labels
    props = {(docs[d][st:en].text, labels[lab]) for d, st, en, lab in
             zip(v2.proposals.doc, v2.proposals.start, v2.proposals.end, v2.proposals.label) if 0 <= lab < len(labels)}
    assert ("European Union", "ORG") in props
    assert v2.details["loose_edges"] == 1 and v1.details["loose_edges"] == 0
    off = name_structure_v2(edges=False, collocations=False)(ev)  # both off: v1 exactly
    assert numpy.array_equal(off.positive, v1.positive) and numpy.array_equal(off.negative, v1.negative)


def test_goldfree_preset_rebounds_a_loose_edge(tmp_path):
    cased_evidence(tmp_path, LOOSE)  # writes cased.spacy
    out = tmp_path / "out" / "clean.spacy"
    report = run_clean("goldfree", out, overrides={"paths.corpus": str(tmp_path / "cased.spacy"),
                                                   "evidence.max_span_length": 3})
    last = read_docbin(out)[-1]
    assert [(s.text, s.label_) for s in last.spans["sc"]] == [("European Union", "ORG"), ("Oslo", "LOC")]
    assert report["changes"]["positives_rebounded"] == 2  # "York" to "New York", and this one


# a result list in title case: "Marco" PER is a partial match of "Marco Pascolo" (no word of it is common);
# "Anna Berg" is whole; "Carl Lee" is unlabelled there, which title case alone does not make a missed name
TITLE = CASED + [
    {"tokens": "Results : Marco Pascolo ( Oslo ) , Anna Berg , Carl Lee".split(),
     "entities": [[2, 2, "PER"], [5, 5, "LOC"], [8, 9, "PER"]]},
]


def test_name_structure_v3_judges_title_case_sentences(tmp_path):
    ev = cased_evidence(tmp_path, TITLE)
    v2, v3 = name_structure_v2(confidence=0.9)(ev), name_structure_v3(confidence=0.9)(ev)
    assert flagged(ev, v3.positive) == sorted(flagged(ev, v2.positive) + ["Marco"])
    assert flagged(ev, v3.negative) == flagged(ev, v2.negative)  # no unlabelled names from title case
    docs = ev.docs_by_position()
    props = {(docs[d][st:en].text, lab) for d, st, en, lab in zip(
        v3.proposals.doc, v3.proposals.start, v3.proposals.end, v3.proposals.label) if docs[d][0].text == "Results"}
    assert props == {("Marco Pascolo", -1)}  # re-bounded, type unknown: masked by the corrector
    off = name_structure_v3(title_case=False)(ev)  # title case off: v2 exactly
    assert numpy.array_equal(off.positive, v2.positive) and numpy.array_equal(off.negative, v2.negative)


def test_name_structure_says_nothing_about_lower_cased_text(tmp_path):
    lowered = [{"tokens": [w.lower() for w in r["tokens"]], "entities": r["entities"]} for r in CASED]
    ev = cased_evidence(tmp_path, lowered)
    s = name_structure_suspicion(ev)
    assert not s.positive.any() and not s.negative.any()
    assert s.warnings and "does not mark names by case" in s.warnings[0]


def test_per_form_decides_by_the_majority_of_a_form(tmp_path):
    ev = cased_evidence(tmp_path)
    samples = ev.samples
    pos = samples.positive & samples.candidates
    oslo = numpy.array([t == "Oslo" for t in [None] * 0] + [False] * len(samples))
    docs = ev.docs_by_position()
    for r in numpy.nonzero(pos)[0]:
        oslo[r] = docs[int(samples.doc[r])][int(samples.start[r]): int(samples.end[r])].text == "Oslo"
    first_oslo = numpy.nonzero(oslo)[0][:1]

    def one_of_two(evidence):  # flags one "Oslo" of two; judges both
        flags = numpy.zeros(len(samples), bool)
        flags[first_oslo] = True
        return Suspicion(flags, numpy.zeros(len(samples), bool), numpy.where(oslo, flags * 1.0, numpy.nan))

    assert per_form_suspicion(ev, detector=one_of_two, min_share=0.5).positive.sum() == 0  # 1 of 2 is no majority
    assert per_form_suspicion(ev, detector=one_of_two, min_share=0.4).positive.sum() == 2  # both occurrences


def test_goldfree_preset_corrects_without_any_training(tmp_path):
    cased_evidence(tmp_path)
    report = run_clean("goldfree", tmp_path / "c.spacy", overrides={"paths.corpus": str(tmp_path / "cased.spacy"),
                                                                    "evidence.max_span_length": 3})
    docs = read_docbin(tmp_path / "c.spacy")
    assert [(e.text, e.label_) for e in docs[0].ents] == [("New York", "LOC")]  # re-bounded and re-typed
    assert [(e.text, e.label_) for e in docs[1].ents] == [("Anna Berg", "PER")]
    assert docs[1][0].ent_iob_ == "O"  # "The": a plain non-entity, not masked
    assert [t.ent_iob_ for t in docs[3]][2:4] == ["", ""]  # "Carl Lee": no label known, masked
    assert report["changes"] == {"positives_rebounded": 1, "positives_removed": 1, "negatives_masked": 1}
    assert report["epochs_recorded"] == 0 and report["detectors"]["structure"]["flagged_positives"] == 2


def test_out_of_fold_disagreement(tmp_path):
    ev = cased_evidence(tmp_path)
    samples = ev.samples
    n_labels = len(samples.labels)
    probs = numpy.zeros((len(samples), n_labels + 1), "float16")
    probs[numpy.arange(len(samples)), numpy.minimum(samples.label, n_labels)] = 1.0  # agrees everywhere...
    docs = ev.docs_by_position()
    york = [r for r in numpy.nonzero(samples.positive)[0]
            if docs[int(samples.doc[r])][int(samples.start[r]): int(samples.end[r])].text == "York"][0]
    probs[york] = 0
    probs[york, samples.labels.index("LOC")] = 1.0  # ...but calls "York" a LOC
    meta = {"format": "spacy-dynclean.folds.v1", "labels": samples.labels, "fingerprint": samples.meta["fingerprint"],
            "n_samples": len(samples), "folds": 2}
    FoldPredictions(meta, probs, numpy.ones(len(samples), "int8")).to_disk(tmp_path / "folds")
    ev = Evidence.load({"corpus": str(tmp_path / "cased.spacy"), "folds": str(tmp_path / "folds")}, max_span_length=3)
    s = out_of_fold_suspicion(ev)
    assert flagged(ev, s.positive) == ["York"] and not s.negative.any()
    assert s.proposals.label.tolist() == [samples.labels.index("LOC")]  # a re-type suggestion
    other = tmp_path / "other"
    other.mkdir()
    write_docbin(docs_of(other, CASED[1:], "cased"), other / "cased.spacy")
    with pytest.raises(DynCleanError, match="another corpus"):
        Evidence.load({"corpus": str(other / "cased.spacy"), "folds": str(tmp_path / "folds")}, max_span_length=3)


@pytest.mark.parametrize("make,match", [
    (lambda: name_structure(confidence=0.2), "confidence"),
    (lambda: name_structure_v2(confidence=1.5), "confidence"),
    (lambda: name_structure_v3(confidence=0.1), "confidence"),
    (lambda: aum_detector(k=-1), "k must be"),
    (lambda: aum_detector(positive_fraction=2), "positive_fraction"),
])
def test_detector_settings_are_validated(make, match):
    with pytest.raises(DynCleanError, match=match):
        make()
