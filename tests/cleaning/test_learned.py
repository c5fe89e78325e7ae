"""The training-dynamics detector (learned_negatives.v1) on tiny in-memory corpora."""
import math

import numpy
import pytest

from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.cleaning.decision import decision
from spacy_dynclean.cleaning.contract import Suspicion
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.cleaning.detectors.learned import entity_probability, learned_negatives
from spacy_dynclean.recording.samples import SampleIndex, candidate_row
from spacy_dynclean.cleaning.strategies import correct_strategy
from spacy_dynclean.util import DynCleanError

from ..helpers import LABELS, MAXLEN, RECORDS, docs_of

SETTINGS = {"spans_key": "sc", "ignore_key": "dynclean_ignored"}
OSLO = [  # "Oslo" is missed three times; the model finds it entity-like in two of them
    {"tokens": ["Anna", "lives", "in", "Oslo"], "entities": [[0, 0, "PER"]]},
    {"tokens": ["Bob", "left", "Oslo", "today"], "entities": [[0, 0, "PER"]]},
    {"tokens": ["Oslo", "is", "cold"], "entities": []},
    {"tokens": ["Carl", "saw", "Rome"], "entities": [[0, 0, "PER"], [2, 2, "LOC"]]},
]


def recorded(docs, entity_like=(), epochs=2):
    """Dynamics of `docs` in which every non-entity span has entity
    probability 0.001 and every distant entity is fitted (p = 0.9), except
    the (doc, start, end, p_entity[, predicted column]) items of
    `entity_like`: consistent probabilities and margins, as a recording
    writes them."""
    index = SampleIndex.from_docs(docs, LABELS, max_span_length=MAXLEN, **SETTINGS)
    n, neg = len(index), len(LABELS)
    positive = index.label < neg
    p_own = numpy.where(positive, 0.9, 0.999)
    pred = numpy.where(positive, index.label, neg)
    p_own = numpy.repeat(p_own[:, None], epochs, axis=1)
    pred = numpy.repeat(pred[:, None], epochs, axis=1)
    for doc_i, s, e, p_ent, *col in entity_like:
        base, _ = index.rows_for(docs[doc_i].user_data["dynclean_id"])
        row = base + candidate_row(s, e, len(docs[doc_i]), MAXLEN)
        p_own[row] = 1.0 - p_ent
        if col:
            pred[row] = col[0]
    margins = numpy.log(p_own) - numpy.log(1.0 - p_own)  # two columns carry the mass
    meta = {"mode": "epoch", "epochs": list(range(epochs)), "settings": SETTINGS}
    return Dynamics.from_index(index, margins.astype("float32"), p_own.astype("float16"), pred.astype("int8"), meta)


def evidence_of(docs, dynamics):
    return Evidence(corpus=None, docs=docs, samples=dynamics, dynamics=dynamics,
                    paths={"dynamics": "dyn"})


def flagged_spans(ev, mask):
    sm = ev.samples
    docs = ev.docs_by_position()
    return sorted(docs[int(sm.doc[r])][int(sm.start[r]): int(sm.end[r])].text for r in numpy.nonzero(mask)[0])


def test_entity_probability_from_the_recorded_margin(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = recorded(docs, [(0, 7, 8, 0.6)])
    p = entity_probability(dyn, 2)
    row = numpy.nonzero((dyn.doc == dyn.doc_ids.index(docs[0].user_data["dynclean_id"])) & (dyn.start == 7)
                        & (dyn.end == 8))[0][0]
    assert math.isclose(float(p[row]), 0.6, rel_tol=1e-2)
    assert float(numpy.median(p[~dyn.positive])) < 0.01


def test_flags_the_missed_entity_above_the_prior_and_suppresses_overlaps(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    # "Berlin" is missed; "in Berlin" overlaps it and is less entity-like; "met Anna" overlaps a distant entity
    dyn = recorded(docs, [(0, 7, 8, 0.6), (0, 6, 8, 0.3), (0, 4, 6, 0.9)])
    ev = evidence_of(docs, dyn)
    s = learned_negatives(per_form=False)(ev)
    assert flagged_spans(ev, s.negative) == ["Berlin"]
    assert not s.positive.any() and not s.abstained
    assert math.isclose(s.details["prior_entity_rate"], 4 / 30, rel_tol=1e-3)  # 4 distant entities, 30 spans
    assert s.details["above_cut"] == 2  # Berlin and "in Berlin"; "met Anna" is not in the pool
    # without suppression both spans over the missed entity are flagged
    s2 = learned_negatives(per_form=False, suppress=False)(ev)
    assert flagged_spans(ev, s2.negative) == ["Berlin", "in Berlin"]
    # a cut above the missed entity's probability flags nothing (0.6 < 5 x 4/30)
    assert not learned_negatives(min_ratio=5.0)(ev).negative.any()


def test_suggests_the_stable_prediction_and_the_strategy_adds_it(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    loc = LABELS.index("LOC")
    dyn = recorded(docs, [(0, 7, 8, 0.6, loc)])
    ev = evidence_of(docs, dyn)
    s = learned_negatives(suggest=True, per_form=False)(ev)
    assert len(s.proposals) == 1 and int(s.proposals.label[0]) == loc and int(s.proposals.row[0]) == -1
    flags = decision(correct_strategy(), positives=[], negatives=["learned"]).flag(ev, {"learned": s})
    result = correct_strategy()(ev, flags, {"learned": s})
    cleaned, stats = result.docs, result.stats
    berlin = next(d for d in cleaned if "Berlin" in d.text)
    assert ("Berlin", "LOC") in [(e.text, e.label_) for e in berlin.ents]
    assert stats.changes == {"negatives_added": 1}
    # without a suggestion the span is masked: its token is missing, not O
    s = learned_negatives(suggest=False, per_form=False)(ev)
    cleaned = correct_strategy()(ev, decision(correct_strategy(), positives=[], negatives=["learned"]).flag(
        ev, {"learned": s}), {"learned": s}).docs
    berlin = next(d for d in cleaned if "Berlin" in d.text)
    assert berlin[7].ent_iob_ == "" and [(x.start, x.end) for x in berlin.spans["dynclean_ignored"]] == [(7, 8)]


def test_per_form_flags_a_text_flagged_in_most_of_its_occurrences(tmp_path):
    docs = docs_of(tmp_path, OSLO, "ds")
    two_of_three = recorded(docs, [(0, 3, 4, 0.7), (1, 2, 3, 0.7)])
    ev = evidence_of(docs, two_of_three)
    assert flagged_spans(ev, learned_negatives(per_form=False)(ev).negative) == ["Oslo", "Oslo"]
    assert flagged_spans(ev, learned_negatives(per_form=True)(ev).negative) == ["Oslo", "Oslo", "Oslo"]
    one_of_three = recorded(docs, [(0, 3, 4, 0.7)])
    ev = evidence_of(docs, one_of_three)
    assert not learned_negatives(per_form=True)(ev).negative.any()  # the form's majority clears it


def test_abstains_without_a_recording_and_the_decision_trusts_the_others(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    write_docbin(docs, tmp_path / "train.spacy")
    ev = Evidence.load({"corpus": str(tmp_path / "train.spacy")}, max_span_length=MAXLEN)
    s = learned_negatives()(ev)
    assert s.abstained and not s.negative.any() and "no recording run" in s.warnings[0]
    other = Suspicion.none(len(ev.samples))
    hello = ev.samples.doc_ids.index(next(d for d in docs if d.text.startswith("Hello")).user_data["dynclean_id"])
    other.negative[numpy.nonzero(ev.samples.doc == hello)[0][0]] = True  # "Hello": no distant entity near
    flags = decision(correct_strategy(), positives=[], negatives=["learned", "other"]).flag(
        ev, {"learned": s, "other": other})
    assert flags.trusted == {"positives": [], "negatives": ["other"]} and int(flags.negative.sum()) == 1
    flags = decision(correct_strategy(), positives=[], negatives=["learned"]).flag(ev, {"learned": s})
    assert any("abstained on this corpus" in w for w in flags.warnings)


def test_the_goldfree_preset_reads_the_dynamics(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    write_docbin(docs, tmp_path / "train.spacy")
    recorded(docs, [(0, 7, 8, 0.6)]).to_disk(tmp_path / "dyn")
    report = run_clean("goldfree", tmp_path / "out.spacy", overrides={
        "paths.corpus": str(tmp_path / "train.spacy"), "paths.dynamics": str(tmp_path / "dyn"),
        "evidence.max_span_length": MAXLEN})
    assert report["detectors"]["learned"]["flagged_negatives"] == 1
    assert report["decision"]["trusted"]["negatives"] == ["structure", "learned"]
    berlin = next(d for d in read_docbin(tmp_path / "out.spacy") if "Berlin" in d.text)
    assert berlin[7].ent_iob_ == ""  # masked (the preset does not add the model's label)


@pytest.mark.parametrize("kwargs,match", [({"min_ratio": -1}, "min_ratio"), ({"k": "soon"}, "k must be"),
                                          ({"k": -2}, "k must be")])
def test_settings_are_validated(kwargs, match):
    with pytest.raises(DynCleanError, match=match):
        learned_negatives(**kwargs)
