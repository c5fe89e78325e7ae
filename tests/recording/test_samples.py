import numpy
import pytest
from spacy.pipeline.spancat import build_ngram_range_suggester
from spacy.tokens import Doc
from spacy.vocab import Vocab

from spacy_dynclean.convert import read_records, records_to_docs
from spacy_dynclean.recording.samples import (
    FLAG_POSITIVE,
    FLAG_THRESHOLD,
    SampleIndex,
    candidate_row,
    candidate_spans,
    n_candidates,
    overlaps_positive,
    select_threshold_samples,
)
from spacy_dynclean.util import DynCleanError

from ..conftest import TRAIN_RECORDS


@pytest.mark.parametrize("n,max_len", [(1, 8), (3, 8), (8, 8), (13, 8), (5, 2)])
def test_candidate_order_matches_spacy_suggester(n, max_len):
    doc = Doc(Vocab(), words=[f"w{i}" for i in range(n)])
    spacy_spans = build_ngram_range_suggester(1, max_len)([doc]).dataXd
    ours = candidate_spans(n, max_len)
    assert numpy.array_equal(numpy.asarray(spacy_spans), ours)
    assert n_candidates(n, max_len) == len(ours)
    for row, (s, e) in enumerate(ours):
        assert candidate_row(int(s), int(e), n, max_len) == row
    assert candidate_row(0, max_len + 1, n, max_len) == -1


def read_records_list(tmp_path):
    return read_records(tmp_path / "t.json")


def make_index(tmp_path, records=TRAIN_RECORDS, max_len=3):
    import json

    src = tmp_path / "t.json"
    src.write_text(json.dumps(records), encoding="utf8")
    docs = records_to_docs(read_records(src), Vocab())
    return SampleIndex.from_docs(docs, ["LOC", "ORG", "PER"], max_span_length=max_len,
                                 spans_key="sc", ignore_key="dynclean_ignored")


def test_index_labels_and_too_long(tmp_path):
    index = make_index(tmp_path, max_len=1)
    # the two 2-token ORG entities are no candidates at max length 1
    assert index.too_long == 2
    assert int((index.flags & FLAG_POSITIVE > 0).sum()) == 7
    assert len(index) == sum(len(r["tokens"]) for r in TRAIN_RECORDS)


def test_threshold_selection_is_seeded_stratified_and_counted(tmp_path):
    records = TRAIN_RECORDS * 1
    a = make_index(tmp_path, records)
    b = make_index(tmp_path, records)
    rows_a = select_threshold_samples(a, seed=3)
    rows_b = select_threshold_samples(b, seed=3)
    assert numpy.array_equal(rows_a, rows_b)
    n_pos = int(((a.flags & FLAG_POSITIVE) > 0).sum())
    pos_chosen = ((a.flags[rows_a] & FLAG_POSITIVE) > 0).sum()
    assert pos_chosen == n_pos // 3
    assert len(rows_a) == 2 * pos_chosen
    assert (a.assigned[rows_a] == 4).all()  # the fake column
    assert ((a.flags[rows_a] & FLAG_THRESHOLD) > 0).all()
    c = make_index(tmp_path, records)
    rows_c = select_threshold_samples(c, seed=3, label_mode="random", n_positives=4, n_negatives=10)
    assert len(rows_c) == 14
    assert (c.assigned[rows_c] != c.label[rows_c]).all()
    assert (c.assigned[rows_c] <= 3).all()


def test_disjoint_negative_pool_avoids_entities(tmp_path):
    index = make_index(tmp_path)
    over = overlaps_positive(index.doc, index.start, index.end, (index.flags & FLAG_POSITIVE) > 0)
    # doc 1: "Acme Corp" is an entity: "Acme" alone overlaps it, "works at" does not
    did = records_to_docs(read_records_list(tmp_path), Vocab())[1].user_data["dynclean_id"]
    b, _ = index.rows_for(did)
    assert over[b + candidate_row(3, 4, 8, 3)]
    assert over[b + candidate_row(2, 4, 8, 3)]  # "at Acme"
    assert not over[b + candidate_row(1, 3, 8, 3)]  # "works at"
    assert not over[b + candidate_row(3, 5, 8, 3)]  # the entity itself
    rows = select_threshold_samples(index, seed=0, n_negatives=5, negative_pool="disjoint")
    neg = rows[(index.flags[rows] & FLAG_POSITIVE) == 0]
    assert not over[neg].any()


def test_threshold_bad_mode(tmp_path):
    with pytest.raises(DynCleanError, match="fake"):
        select_threshold_samples(make_index(tmp_path), seed=0, label_mode="nope")


def test_swap_mode_flips_kinds(tmp_path):
    index = make_index(tmp_path)
    rows = select_threshold_samples(index, seed=1, label_mode="swap", n_positives=3, n_negatives=4)
    was_pos = (index.flags[rows] & FLAG_POSITIVE) > 0
    assert was_pos.sum() == 3 and (~was_pos).sum() == 4
    assert (index.assigned[rows][was_pos] == 3).all()  # entities become non-entity
    assert (index.assigned[rows][~was_pos] < 3).all()  # non-entities get an entity label
