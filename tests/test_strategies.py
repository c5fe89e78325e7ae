import numpy

from spacy_dynclean.cleaning.contract import Flags
from spacy_dynclean.cleaning.strategies import clean_docs

from .helpers import RECORDS, docs_of, make_dynamics


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
