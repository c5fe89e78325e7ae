import json

import numpy
import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_dynclean.audit import audit
from spacy_dynclean.clean import CleanSettings, run_clean
from spacy_dynclean.convert import read_records, records_to_docs, write_docbin
from spacy_dynclean.dynamics import Dynamics
from spacy_dynclean.filter import clean_docs, flag_samples, volume_warnings
from spacy_dynclean.samples import SampleIndex, candidate_row, select_threshold_samples
from spacy_dynclean.thresholds import Thresholds
from spacy_dynclean.util import DynCleanError

RECORDS = [
    # "The" is a spurious MISC (false positive); "Berlin" is missed (false negative)
    {"tokens": ["The", "mayor", "of", "Paris", "met", "Anna", "in", "Berlin"],
     "entities": [[0, 0, "MISC"], [3, 3, "LOC"], [5, 5, "PER"]]},
    {"tokens": ["Hello", "world"], "entities": []},
    {"tokens": ["Bob", "Smith", "left"], "entities": [[0, 1, "PER"]]},
]
GOLD = [
    dict(RECORDS[0], entities=[[3, 3, "LOC"], [5, 5, "PER"], [7, 7, "LOC"]]),
    RECORDS[1],
    RECORDS[2],
]
LABELS = ["LOC", "MISC", "PER"]
MAXLEN = 3


def docs_of(tmp_path, records, name):
    src = tmp_path / f"{name}.json"
    src.write_text(json.dumps(records), encoding="utf8")
    return records_to_docs(read_records(src), Vocab())


def make_dynamics(docs, low=(), threshold=False, pred=None):
    """Dynamics where every sample has margin 5 except the (doc, start, end)
    keys in `low`, which get -5."""
    index = SampleIndex.from_docs(docs, LABELS, max_span_length=MAXLEN, spans_key="sc",
                                  ignore_key="dynclean_ignored")
    if threshold:
        select_threshold_samples(index, seed=0, n_positives=2, n_negatives=2)
    margins = numpy.full((len(index), 2), 5.0, dtype="float32")
    preds = numpy.repeat(index.label[:, None], 2, axis=1).astype("int8")
    for doc_i, s, e, *p in low:
        did = docs[doc_i].user_data["dynclean_id"]
        b, _ = index.rows_for(did)
        row = b + candidate_row(s, e, len(docs[doc_i]), MAXLEN)
        margins[row] = -5.0
        if p:
            preds[row] = p[0]
    if threshold:
        margins[(index.flags & 2) > 0] = 0.0
    meta = {"mode": "epoch", "epochs": [0, 1], "settings": {"spans_key": "sc", "ignore_key": "dynclean_ignored"}}
    return Dynamics.from_index(index, margins, numpy.full(margins.shape, 0.5, "float16"), preds, meta)


FIXED = Thresholds(method="fixed", positive=0.0, negative=0.0)


def test_removal_ignore_group_and_missing_tokens(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs, low=[(0, 0, 1), (0, 7, 8)])
    flags = flag_samples(dyn, dyn.aum(), FIXED)
    assert flags.positive.sum() == 1 and flags.negative.sum() == 1
    cleaned, stats = clean_docs(docs, dyn, flags)
    doc = cleaned[0]
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(3, 4, "LOC"), (5, 6, "PER")]
    assert [(s.start, s.end, s.label_) for s in doc.spans["sc"]] == [(3, 4, "LOC"), (5, 6, "PER")]
    assert sorted((s.start, s.end) for s in doc.spans["dynclean_ignored"]) == [(0, 1), (7, 8)]
    assert doc[0].ent_iob_ == "" and doc[7].ent_iob_ == ""  # missing, not O
    assert doc[1].ent_iob_ == "O"
    assert stats.positives_removed == 1 and stats.negatives_masked == 1 and stats.docs_dropped == 0
    # the input docs are untouched
    assert [e.label_ for e in docs[0].ents] == ["MISC", "LOC", "PER"]


def test_overlapping_negatives_are_protected(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs, low=[(2, 0, 1), (2, 1, 3)])  # sub-span "Bob", shifted "Smith left"
    flags = flag_samples(dyn, dyn.aum(), FIXED)
    assert flags.negative.sum() == 0 and flags.protected_negatives == 2
    flags = flag_samples(dyn, dyn.aum(), FIXED, protect_overlaps=False)
    assert flags.negative.sum() == 2


def test_doc_with_nothing_left_is_dropped(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs, low=[(1, 0, 2)])  # "Hello world": the whole doc
    cleaned, stats = clean_docs(docs, dyn, flag_samples(dyn, dyn.aum(), FIXED))
    assert stats.docs_dropped == 1 and len(cleaned) == 2


def test_relabel_uses_stable_prediction(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    # "The" predicted non-entity (3), "Berlin" predicted LOC (0), "mayor" unstable -> masked
    dyn = make_dynamics(docs, low=[(0, 0, 1, 3), (0, 7, 8, 0), (0, 1, 2)])
    mayor = numpy.nonzero((dyn.start == 1) & (dyn.end == 2) & (dyn.doc == dyn.doc_ids.index(docs[0].user_data["dynclean_id"])))[0][0]
    dyn.pred[mayor] = [0, 2]  # LOC then PER: not stable
    flags = flag_samples(dyn, dyn.aum(), FIXED)
    cleaned, stats = clean_docs(docs, dyn, flags, strategy="relabel")
    doc = cleaned[0]
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(3, 4, "LOC"), (5, 6, "PER"), (7, 8, "LOC")]
    assert doc[0].ent_iob_ == "O"  # relabelled to non-entity
    assert doc[1].ent_iob_ == ""  # unstable: masked
    assert [(s.start, s.end) for s in doc.spans["dynclean_ignored"]] == [(1, 2)]
    assert stats.positives_relabelled == 1 and stats.negatives_relabelled == 1 and stats.negatives_masked == 1


def test_label_majority_warning_and_cap(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    dyn = make_dynamics(docs, low=[(0, 5, 6), (2, 0, 2)])  # both PER positives
    flags = flag_samples(dyn, dyn.aum(), FIXED)
    assert any("PER: 2 of 2" in w for w in flags.warnings)
    capped = flag_samples(dyn, dyn.aum(), FIXED, max_label_fraction=0.5)
    assert capped.positive.sum() == 1 and any("capped" in w for w in capped.warnings)


def test_volume_warnings_for_many_negatives_and_dropped_docs(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    quiet = make_dynamics(docs, low=[(0, 7, 8)])  # one negative of many
    flags = flag_samples(quiet, quiet.aum(), FIXED)
    _, stats = clean_docs(docs, quiet, flags)
    assert volume_warnings(quiet, flags, stats) == []
    # all 3 spans of "Hello world" and "left" of "Bob Smith left": 4 of the 26 negatives (over 10%),
    # and one doc in three goes
    loud = make_dynamics(docs, low=[(1, 0, 1), (1, 1, 2), (1, 0, 2), (2, 2, 3)])
    flags = flag_samples(loud, loud.aum(), FIXED)
    _, stats = clean_docs(docs, loud, flags)
    warnings = volume_warnings(loud, flags, stats)
    assert len(warnings) == 2
    assert warnings[0].startswith("4 of ") and "negatives flagged" in warnings[0]
    assert warnings[1].startswith("1 of 3 docs dropped")
    assert volume_warnings(loud, flags, stats, max_negative_share=0.5, max_dropped_share=0.5) == []


def test_audit_arithmetic_by_hand(tmp_path):
    distant = docs_of(tmp_path, RECORDS, "ds")
    gold = docs_of(tmp_path, GOLD, "gs")
    dyn = make_dynamics(distant, low=[(0, 0, 1), (0, 7, 8), (0, 1, 2), (2, 0, 2)])
    cleaned, _ = clean_docs(distant, dyn, flag_samples(dyn, dyn.aum(), FIXED))
    result = audit(distant, cleaned, gold, max_span_length=MAXLEN)
    # positives flagged: "The" (real FP) and "Bob Smith" (correct) -> P 1/2, R 1/1
    assert result["fp_precision"] == pytest.approx(0.5) and result["fp_recall"] == 1.0
    # negatives flagged: "Berlin" (real FN) and "mayor" (not) -> P 1/2, R 1/1
    assert result["fn_precision"] == pytest.approx(0.5) and result["fn_recall"] == 1.0
    # distant vs gold: 3 of 4 distant entities right, 3 of 4 gold entities found
    assert result["labels_before"]["precision"] == pytest.approx(3 / 4)
    assert result["labels_before"]["recall"] == pytest.approx(3 / 4)
    # cleaned: LOC Paris, PER Anna; Berlin's and Bob Smith's tokens are missing -> gold kept: Paris, Anna
    assert result["labels_after"]["precision"] == 1.0 and result["labels_after"]["recall"] == 1.0
    assert result["labels_f1_after"] > result["labels_f1_before"]
    for key in ("fp_precision", "fp_recall", "fn_precision", "fn_recall", "labels_f1_before", "labels_f1_after"):
        assert 0.0 <= result[key] <= 1.0


def write_setup(tmp_path, low=(), threshold=True):
    docs = docs_of(tmp_path, RECORDS, "ds")
    write_docbin(docs, tmp_path / "train.spacy")
    make_dynamics(docs, low=low).to_disk(tmp_path / "dyn")
    make_dynamics(docs, threshold=threshold).to_disk(tmp_path / "thr")
    return docs


def test_run_clean_end_to_end(tmp_path):
    write_setup(tmp_path, low=[(0, 0, 1), (0, 7, 8)])
    settings = CleanSettings(positive_percentile=100, negative_percentile=100)
    report = run_clean(tmp_path / "train.spacy", tmp_path / "dyn", tmp_path / "clean.spacy",
                       threshold_dir=tmp_path / "thr", settings=settings)
    assert report["flagged_positives"] == 1 and report["flagged_negatives"] == 1
    assert report["thresholds"]["positive"] == 0.0 and report["threshold_samples"] == 4
    for key in ("samples", "positives", "negatives", "docs_in", "docs_out", "gold_spans_too_long"):
        assert key in report
    assert (tmp_path / "clean.report.json").exists() and (tmp_path / "clean.report.md").exists()
    assert len(DocBin().from_disk(tmp_path / "clean.spacy")) == 3


@pytest.mark.parametrize("case", ["fingerprint", "unknown_ids", "labels", "no_threshold", "empty", "same_output"])
def test_errors_write_nothing(tmp_path, case):
    docs = write_setup(tmp_path, threshold=case != "no_threshold")
    corpus = tmp_path / "train.spacy"
    out = tmp_path / "clean.spacy"
    if case == "fingerprint":
        docs[0].spans["sc"] = list(docs[0].spans["sc"])[1:]
        write_docbin(docs, corpus)
    elif case == "unknown_ids":
        docs[0].user_data["dynclean_id"] = "other-0"
        write_docbin(docs, corpus)
    elif case == "labels":
        thr = Dynamics.from_disk(tmp_path / "thr")
        thr.meta["labels"] = ["A", "B", "C"]
        thr.to_disk(tmp_path / "thr")
    elif case == "empty":
        write_docbin([], corpus)
    elif case == "same_output":
        out = corpus
    with pytest.raises(DynCleanError):
        run_clean(corpus, tmp_path / "dyn", out, threshold_dir=tmp_path / "thr")
    if case != "same_output":
        assert not out.exists()
        assert not (tmp_path / "clean.report.json").exists()


def test_threshold_run_shorter_than_k_is_an_error(tmp_path):
    write_setup(tmp_path)
    thr = Dynamics.from_disk(tmp_path / "thr")
    thr.margins, thr.probs, thr.pred = thr.margins[:, :1], thr.probs[:, :1], thr.pred[:, :1]
    thr.to_disk(tmp_path / "thr")
    with pytest.raises(DynCleanError, match="at least k epochs"):
        run_clean(tmp_path / "train.spacy", tmp_path / "dyn", tmp_path / "c.spacy",
                  threshold_dir=tmp_path / "thr", settings=CleanSettings(k=2))
    assert not (tmp_path / "c.spacy").exists()
