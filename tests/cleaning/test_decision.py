import numpy
import pytest

from spacy_dynclean.cleaning.contract import Flags
from spacy_dynclean.cleaning.decision import combine, decision, volume_warnings
from spacy_dynclean.cleaning.contract import Suspicion
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.cleaning.strategies import clean_docs, remove_strategy
from spacy_dynclean.util import DynCleanError

from ..helpers import RECORDS, docs_of, make_dynamics


def low_suspicion(dyn):
    """A detector's view: every sample with a negative AUM is suspect."""
    low = (dyn.aum() < 0) & dyn.candidates
    return Suspicion(positive=low & dyn.positive, negative=low & ~dyn.positive, score=-dyn.aum())


def evidence_of(tmp_path, low):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs, low=low)
    return Evidence(corpus=tmp_path / "ds.spacy", docs=docs, samples=dyn, dynamics=dyn)


def decide(ev, suspicions, **settings):
    kinds = {"positives": list(suspicions), "negatives": list(suspicions)}
    return decision(remove_strategy(), **{**kinds, **settings}).flag(ev, suspicions)


def test_combine_rules():
    a, b, c = numpy.array([1, 1, 0, 0], bool), numpy.array([1, 0, 1, 0], bool), numpy.array([1, 1, 1, 0], bool)
    assert combine([a, b], "union", 2, 4).tolist() == [True, True, True, False]
    assert combine([a, b], "intersection", 2, 4).tolist() == [True, False, False, False]
    assert combine([a, b, c], "vote", 2, 4).tolist() == [True, True, True, False]
    assert combine([a, b, c], "vote", 3, 4).tolist() == [True, False, False, False]
    assert not combine([], "union", 2, 4).any()


def test_overlapping_negatives_are_protected(tmp_path):
    ev = evidence_of(tmp_path, low=[(2, 0, 1), (2, 1, 3)])  # sub-span "Bob", shifted "Smith left"
    flags = decide(ev, {"aum": low_suspicion(ev.samples)})
    assert flags.negative.sum() == 0 and flags.protected_negatives == 2
    flags = decide(ev, {"aum": low_suspicion(ev.samples)}, protect_overlaps=False)
    assert flags.negative.sum() == 2


def test_vote_of_two_detectors(tmp_path):
    ev = evidence_of(tmp_path, low=[(0, 0, 1), (0, 7, 8)])  # "The" and "Berlin"
    first = low_suspicion(ev.samples)
    second = Suspicion.none(len(ev.samples))
    second.positive = first.positive.copy()  # agrees on "The" only
    union = decide(ev, {"a": first, "b": second})
    vote = decide(ev, {"a": first, "b": second}, positive_rule="vote", negative_rule="vote", min_votes=2)
    assert (union.positive.sum(), union.negative.sum()) == (1, 1)
    assert (vote.positive.sum(), vote.negative.sum()) == (1, 0)
    assert vote.votes[vote.positive].tolist() == [2]


def test_label_majority_warning_and_cap(tmp_path):
    ev = evidence_of(tmp_path, low=[(0, 5, 6), (2, 0, 2)])  # both PER positives
    flags = decide(ev, {"aum": low_suspicion(ev.samples)})
    assert any("PER: 2 of 2" in w for w in flags.warnings)
    capped = decide(ev, {"aum": low_suspicion(ev.samples)}, max_label_fraction=0.5)
    assert capped.positive.sum() == 1 and any("capped" in w for w in capped.warnings)


def test_volume_warnings_for_many_negatives_and_dropped_docs(tmp_path):
    ev = evidence_of(tmp_path, low=[(0, 7, 8)])  # one negative of many
    flags = decide(ev, {"aum": low_suspicion(ev.samples)})
    stats = clean_docs(ev.docs, ev.samples, flags).stats
    assert volume_warnings(ev.samples, flags, stats.docs_in, stats.docs_dropped) == []
    # all 3 spans of "Hello world" and "left" of "Bob Smith left": 4 of the 26 negatives (over 10%),
    # and one doc in three goes
    ev = evidence_of(tmp_path, low=[(1, 0, 1), (1, 1, 2), (1, 0, 2), (2, 2, 3)])
    flags = decide(ev, {"aum": low_suspicion(ev.samples)})
    stats = clean_docs(ev.docs, ev.samples, flags).stats
    warnings = volume_warnings(ev.samples, flags, stats.docs_in, stats.docs_dropped)
    assert len(warnings) == 2
    assert warnings[0].startswith("4 of ") and "negatives flagged" in warnings[0]
    assert warnings[1].startswith("1 of 3 docs dropped")
    assert volume_warnings(ev.samples, flags, stats.docs_in, stats.docs_dropped, max_negative_share=0.5,
                           max_dropped_share=0.5) == []


@pytest.mark.parametrize("settings,match", [
    ({"positive_rule": "most"}, "positive_rule"), ({"min_votes": 0}, "min_votes"),
    ({"max_label_fraction": 2}, "max_label_fraction"), ({"positives": "aum"}, "positives"),
    ({"majority_warning": -1}, "majority_warning"),
])
def test_decision_settings_are_validated(settings, match):
    with pytest.raises(DynCleanError, match=match):
        decision(remove_strategy(), **settings)


def test_flags_never_touch_threshold_samples(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs, threshold=True)
    ev = Evidence(corpus=tmp_path, docs=docs, samples=dyn, dynamics=dyn)
    every = Suspicion(numpy.ones(len(dyn), bool), numpy.ones(len(dyn), bool), numpy.ones(len(dyn), "float32"))
    flags = decide(ev, {"all": every}, protect_overlaps=False)
    assert isinstance(flags, Flags) and not (flags.any & dyn.threshold).any()
    assert flags.any.sum() == int((~dyn.threshold).sum())


def test_hand_off_replaces_an_abstaining_detector(tmp_path):
    from spacy_dynclean.cleaning.decision import decision_v2

    ev = evidence_of(tmp_path, low=[(0, 0, 1), (0, 7, 8)])  # "The" MISC (positive), "Berlin" (negative)
    learned = low_suspicion(ev.samples)
    silent = Suspicion.none(len(ev.samples))
    made = decision_v2(remove_strategy(), positives=["structure"], negatives=["structure"],
                       hand_off={"structure": "learned"})
    assert made.detectors == ["structure", "learned"]
    # the structure speaks (flags nothing here, but has evidence): the learned detector stays out
    flags = made.flag(ev, {"structure": silent, "learned": learned})
    assert not flags.any.any() and flags.trusted == {"positives": ["structure"], "negatives": ["structure"]}
    # the structure abstains: the learned detector decides both kinds in its place
    abstaining = Suspicion.none(len(ev.samples))
    abstaining.abstained = True
    flags = made.flag(ev, {"structure": abstaining, "learned": learned})
    assert int(flags.positive.sum()) == 1 and int(flags.negative.sum()) == 1
    assert flags.trusted == {"positives": ["learned"], "negatives": ["learned"]}
    # v1 reads no hand-off: the abstaining detector's kinds stay empty, with a warning
    flags = decision(remove_strategy(), positives=["structure"], negatives=["structure"]).flag(
        ev, {"structure": abstaining, "learned": learned})
    assert not flags.any.any() and any("abstained" in w for w in flags.warnings)
    with pytest.raises(DynCleanError, match="hand_off"):
        decision_v2(remove_strategy(), hand_off=["structure"])
    with pytest.raises(DynCleanError, match="no detector 'learned'"):
        made.flag(ev, {"structure": abstaining})


def test_a_distant_entity_longer_than_the_span_limit_protects_its_overlaps(tmp_path):
    # "Bank of the United States" (5 tokens) is no sample (limit 3) but stays an entity: a flag inside it
    # would change nothing in the corpus and yet be counted
    records = [{"tokens": ["He", "met", "Bank", "of", "the", "United", "States", "in", "Rome"],
                "entities": [[2, 6, "ORG"]]}, *RECORDS]
    docs = docs_of(tmp_path, records, "ds")
    dyn = make_dynamics(docs)
    ev = Evidence(corpus=tmp_path / "ds.spacy", docs=docs, samples=dyn, dynamics=dyn)
    n = len(dyn)
    doc0 = dyn.doc_ids.index(docs[0].user_data["dynclean_id"])
    inside = numpy.nonzero((dyn.doc == doc0) & (dyn.start == 5) & (dyn.end == 7))[0][0]  # "United States"
    edge = numpy.nonzero((dyn.doc == doc0) & (dyn.start == 6) & (dyn.end == 8))[0][0]  # "States in"
    free = numpy.nonzero((dyn.doc == doc0) & (dyn.start == 8) & (dyn.end == 9))[0][0]  # "Rome"
    negative = numpy.zeros(n, bool)
    negative[[inside, edge, free]] = True
    s = Suspicion(positive=numpy.zeros(n, bool), negative=negative, score=numpy.zeros(n, "float32"))
    flags = decide(ev, {"d": s})
    assert numpy.nonzero(flags.negative)[0].tolist() == [free] and flags.protected_negatives == 2
    assert decide(ev, {"d": s}, protect_overlaps=False).negative.sum() == 3
