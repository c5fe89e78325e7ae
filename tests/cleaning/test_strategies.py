import numpy

from spacy_dynclean.cleaning.contract import Flags
from spacy_dynclean.cleaning.strategies import clean_docs

from ..helpers import RECORDS, docs_of, make_dynamics


def aum_flags(dyn, docs):
    """Flags of every candidate with a negative AUM (a threshold of 0)."""
    low = (dyn.aum() < 0) & dyn.candidates
    return Flags(positive=low & dyn.positive, negative=low & ~dyn.positive)


def test_removal_ignore_group_and_missing_tokens(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs, low=[(0, 0, 1), (0, 7, 8)])
    flags = aum_flags(dyn, docs)
    assert flags.positive.sum() == 1 and flags.negative.sum() == 1
    result = clean_docs(docs, dyn, flags)
    cleaned, stats = result.docs, result.stats
    doc = cleaned[0]
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(3, 4, "LOC"), (5, 6, "PER")]
    assert [(s.start, s.end, s.label_) for s in doc.spans["sc"]] == [(3, 4, "LOC"), (5, 6, "PER")]
    assert sorted((s.start, s.end) for s in doc.spans["dynclean_ignored"]) == [(0, 1), (7, 8)]
    assert doc[0].ent_iob_ == "" and doc[7].ent_iob_ == ""  # missing, not O
    assert doc[1].ent_iob_ == "O"
    assert stats.positives_removed == 1 and stats.negatives_masked == 1 and stats.docs_dropped == 0
    # the input docs are untouched
    assert [e.label_ for e in docs[0].ents] == ["MISC", "LOC", "PER"]


def test_doc_with_nothing_left_is_dropped(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs, low=[(1, 0, 2)])  # "Hello world": the whole doc
    result = clean_docs(docs, dyn, aum_flags(dyn, docs))
    cleaned, stats = result.docs, result.stats
    assert stats.docs_dropped == 1 and len(cleaned) == 2


def test_relabel_uses_stable_prediction(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    # "The" predicted non-entity (3), "Berlin" predicted LOC (0), "mayor" unstable -> masked
    dyn = make_dynamics(docs, low=[(0, 0, 1, 3), (0, 7, 8, 0), (0, 1, 2)])
    doc0 = dyn.doc_ids.index(docs[0].user_data["dynclean_id"])
    mayor = numpy.nonzero((dyn.start == 1) & (dyn.end == 2) & (dyn.doc == doc0))[0][0]
    dyn.pred[mayor] = [0, 2]  # LOC then PER: not stable
    result = clean_docs(docs, dyn, aum_flags(dyn, docs), strategy="relabel")
    cleaned, stats = result.docs, result.stats
    doc = cleaned[0]
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(3, 4, "LOC"), (5, 6, "PER"), (7, 8, "LOC")]
    assert doc[0].ent_iob_ == "O"  # relabelled to non-entity
    assert doc[1].ent_iob_ == ""  # unstable: masked
    assert [(s.start, s.end) for s in doc.spans["dynclean_ignored"]] == [(1, 2)]
    assert stats.positives_relabelled == 1 and stats.negatives_relabelled == 1 and stats.negatives_masked == 1
    assert doc.user_data["dynclean_changes"] == 3  # audit can tell a changed doc without masks
    # with min_agreement 0.5, "mayor" (LOC in one of two epochs... and PER in the other) takes the first
    result = clean_docs(docs, dyn, aum_flags(dyn, docs), strategy="relabel", min_agreement=0.5)
    cleaned, stats = result.docs, result.stats
    assert stats.negatives_masked == 0 and stats.negatives_relabelled == 2


# --- correct_docs: the strategy of both presets ---------------------------------------------------


def correct_case(tmp_path):
    """The tiny corpus as evidence, and a helper for the sample row of a span."""
    from spacy_dynclean.evidence.bundle import Evidence

    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs)
    evidence = Evidence(corpus=tmp_path / "ds.spacy", docs=docs, samples=dyn, dynamics=dyn)
    first = next(i for i, d in enumerate(evidence.docs_by_position()) if d[0].text == "The")

    def row(s, e, p=first):
        return evidence.row_of(p, s, e)

    return evidence, first, row


def proposals_of(rows):
    from spacy_dynclean.cleaning.contract import Proposals

    return Proposals.from_rows(rows)


def test_correct_docs_removes_retypes_adds_and_masks(tmp_path):
    from spacy_dynclean.cleaning.contract import Suspicion
    from spacy_dynclean.cleaning.strategies import correct_docs
    from spacy_dynclean.util import CHANGES_KEY

    evidence, p, row = correct_case(tmp_path)
    n = len(evidence.samples)
    loc, misc, per, none = 0, 1, 2, 3
    flags = Flags(positive=numpy.zeros(n, bool), negative=numpy.zeros(n, bool))
    flags.positive[[row(0, 1), row(3, 4), row(5, 6)]] = True  # The MISC, Paris LOC, Anna PER
    flags.negative[[row(7, 8), row(2, 4)]] = True  # Berlin (missed), "of Paris" (overlaps Paris)
    suspicion = Suspicion.none(n)
    suspicion.proposals = proposals_of([
        (row(0, 1), p, 0, 1, none, 1.0),  # The: not an entity
        (row(3, 4), p, 3, 4, per, 1.0),  # Paris: re-typed
        (-1, p, 7, 8, loc, 1.0),  # Berlin: added
        (-1, p, 2, 4, loc, 1.0),  # "of Paris": overlaps the re-typed Paris, so masked
    ])  # Anna: no suggestion, so masked
    result = correct_docs(evidence, flags, {"d": suspicion}, ["d"])
    doc = next(d for d in result.docs if d[0].text == "The")
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(3, 4, "PER"), (7, 8, "LOC")]
    assert [(s.start, s.end, s.label_) for s in doc.spans["sc"]] == [(3, 4, "PER"), (7, 8, "LOC")]
    assert doc[0].ent_iob_ == "O"  # removed: a plain non-entity, not missing
    assert doc[5].ent_iob_ == "" and doc[2].ent_iob_ == ""  # masked: missing
    # a mask the kept entities cover whole is no ignored span; one that leaves tokens free is
    assert sorted((s.start, s.end) for s in doc.spans["dynclean_ignored"]) == [(2, 4), (5, 6)]
    assert doc.user_data[CHANGES_KEY] == 5
    assert result.stats.changes == {"positives_removed": 1, "positives_retyped": 1, "positives_masked": 1,
                                    "suggestions_masked_for_overlap": 1, "negatives_added": 1}
    assert (result.stats.docs_in, result.stats.docs_out, result.stats.docs_dropped) == (3, 3, 0)
    # untouched docs are copies, and the input is never modified
    assert [e.label_ for e in evidence.docs[0].ents] == ["MISC", "LOC", "PER"]
    assert all(CHANGES_KEY not in d.user_data for d in result.docs if d[0].text != "The")


def test_correct_docs_rebounds_and_prefers_the_higher_score(tmp_path):
    from spacy_dynclean.cleaning.contract import Suspicion
    from spacy_dynclean.cleaning.strategies import correct_docs

    evidence, _, _ = correct_case(tmp_path)
    bob = next(i for i, d in enumerate(evidence.docs_by_position()) if d[0].text == "Bob")
    n = len(evidence.samples)
    flags = Flags(positive=numpy.zeros(n, bool), negative=numpy.zeros(n, bool))
    r = evidence.row_of(bob, 0, 2)
    flags.positive[r] = True
    weak, strong = Suspicion.none(n), Suspicion.none(n)
    weak.proposals = proposals_of([(r, bob, 0, 3, 0, 0.5)])  # "Bob Smith left" LOC
    strong.proposals = proposals_of([(r, bob, 1, 2, 2, 0.9)])  # "Smith" PER
    result = correct_docs(evidence, flags, {"weak": weak, "strong": strong}, ["weak", "strong"])
    doc = next(d for d in result.docs if d[0].text == "Bob")
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(1, 2, "PER")]
    assert result.stats.changes == {"positives_rebounded": 1}
    # no negative was flagged, yet the corpus has one non-entity span made an entity ("Smith"): the count
    # the report shows beside its flags and the audit calls flagged negatives
    from spacy_dynclean.cleaning.report import negatives_in_corpus
    from spacy_dynclean.evaluation.audit import audit

    assert negatives_in_corpus(evidence, result.docs) == 1
    assert audit(evidence.docs, result.docs, evidence.docs)["flagged_negatives"] == 1
    # a detector the strategy does not read gives no suggestion: masked
    result = correct_docs(evidence, flags, {"weak": weak, "strong": strong}, [])
    doc = next(d for d in result.docs if d[0].text == "Bob")
    assert list(doc.ents) == [] and doc[0].ent_iob_ == "" and result.stats.changes == {"positives_masked": 1}


def test_every_strategy_honours_a_review_first(tmp_path):
    """A reviewer's decision (score 2.0) applies under remove, relabel and
    correct alike; the other flags follow the strategy's own rule."""
    from spacy_dynclean.cleaning.contract import Suspicion
    from spacy_dynclean.cleaning.strategies import correct, relabel, remove

    evidence, p, row = correct_case(tmp_path)
    n = len(evidence.samples)
    flags = Flags(positive=numpy.zeros(n, bool), negative=numpy.zeros(n, bool))
    flags.positive[[row(0, 1), row(5, 6)]] = True  # The MISC (reviewed: remove), Anna PER (not reviewed)
    reviewed = Suspicion.none(n)
    reviewed.proposals = proposals_of([(row(0, 1), p, 0, 1, 3, 2.0)])
    detector = Suspicion.none(n)
    detector.proposals = proposals_of([(row(0, 1), p, 0, 1, 1, 1.0), (row(5, 6), p, 5, 6, 0, 1.0)])
    for strategy, anna in ((remove, "masked"), (relabel, "masked"), (correct, "LOC")):
        result = strategy(evidence, flags, {"d": detector}, reviewed=reviewed)
        doc = next(d for d in result.docs if d[0].text == "The")
        assert doc[0].ent_iob_ == "O", strategy.__name__  # the review's "not an entity"
        if anna == "masked":
            assert doc[5].ent_iob_ == "", strategy.__name__
        else:
            assert (5, 6, "LOC") in [(e.start, e.end, e.label_) for e in doc.ents]
