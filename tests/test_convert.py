import json

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_dynclean.convert import convert, doc_id_for, read_docbin, read_records
from spacy_dynclean.util import DOC_ID_KEY, DynCleanError

from .conftest import TRAIN_RECORDS


def write_json(path, records):
    path.write_text(json.dumps(records), encoding="utf8")
    return path


def test_convert_json_sets_ents_spans_and_ids(tmp_path):
    src = write_json(tmp_path / "train.json", TRAIN_RECORDS)
    stats = convert(src, tmp_path / "train.spacy")
    assert stats.docs == 4 and stats.entities == 9
    docs = read_docbin(tmp_path / "train.spacy")
    doc = docs[1]
    assert [t.text for t in doc] == TRAIN_RECORDS[1]["tokens"]
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(0, 1, "PER"), (3, 5, "ORG"), (6, 7, "LOC")]
    assert [(s.start, s.end, s.label_) for s in doc.spans["sc"]] == [(e.start, e.end, e.label_) for e in doc.ents]
    assert doc.user_data[DOC_ID_KEY] == doc_id_for(TRAIN_RECORDS[1]["tokens"], 0)
    # unknown spaces keep spaCy's Corpus from re-tokenizing the text
    assert doc.has_unknown_spaces


def test_same_sentences_same_ids_and_duplicates_distinct(tmp_path):
    dup = TRAIN_RECORDS + [TRAIN_RECORDS[0]]
    gold = [dict(r, entities=[]) for r in dup]
    convert(write_json(tmp_path / "ds.json", dup), tmp_path / "ds.spacy")
    convert(write_json(tmp_path / "gs.json", gold), tmp_path / "gs.spacy")
    ids_ds = [d.user_data[DOC_ID_KEY] for d in read_docbin(tmp_path / "ds.spacy")]
    ids_gs = [d.user_data[DOC_ID_KEY] for d in read_docbin(tmp_path / "gs.spacy")]
    assert ids_ds == ids_gs
    assert len(set(ids_ds)) == len(ids_ds)


def test_convert_jsonl_and_conll_agree(tmp_path):
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in TRAIN_RECORDS[:2]) + "\n", encoding="utf8")
    conll = tmp_path / "train.conll"
    conll.write_text(
        "-DOCSTART- O\n\nAlice B-PER\nlives O\nin O\nParis B-LOC\n. O\n\n"
        "Bob B-PER\nworks O\nat O\nAcme B-ORG\nCorp I-ORG\nin O\nBerlin B-LOC\n. O\n",
        encoding="utf8",
    )
    a = read_records(jsonl)
    b = read_records(conll)
    assert [(r.tokens, r.entities) for r in a] == [(r.tokens, r.entities) for r in b]
    assert b[1].entities == [(0, 1, "PER"), (3, 5, "ORG"), (6, 7, "LOC")]


def test_iob1_style_i_tag_starts_entity(tmp_path):
    conll = tmp_path / "x.iob"
    conll.write_text("New I-LOC\nYork I-LOC\nand O\nParis I-LOC\n", encoding="utf8")
    (rec,) = read_records(conll)
    assert rec.entities == [(0, 2, "LOC"), (3, 4, "LOC")]


@pytest.mark.parametrize(
    "record,message",
    [
        ({"tokens": ["a", "b"], "entities": [[0, 2, "PER"]]}, "out of range"),
        ({"tokens": ["a", "b"], "entities": [[-1, 0, "PER"]]}, "out of range"),
        ({"tokens": ["a", "b"], "entities": [[1, 0, "PER"]]}, "ends before it starts"),
        ({"tokens": ["a", "b", "c"], "entities": [[0, 1, "PER"], [1, 2, "LOC"]]}, "overlapping"),
        ({"tokens": ["a", 3], "entities": []}, "not a string"),
        ({"tokens": [], "entities": []}, "empty sentence"),
        ({"tokens": ["a"], "entities": [[0, 0]]}, "is not [start, end, label]"),
    ],
)
def test_bad_records_name_file_and_record(tmp_path, record, message):
    src = write_json(tmp_path / "bad.json", [TRAIN_RECORDS[0], record])
    with pytest.raises(DynCleanError) as e:
        convert(src, tmp_path / "out.spacy")
    assert message in str(e.value)
    assert "bad.json: record 1" in str(e.value)
    assert not (tmp_path / "out.spacy").exists()


def test_skip_invalid_counts(tmp_path):
    bad = {"tokens": ["a", "b"], "entities": [[0, 5, "PER"]]}
    src = write_json(tmp_path / "bad.json", [TRAIN_RECORDS[0], bad, TRAIN_RECORDS[1]])
    stats = convert(src, tmp_path / "out.spacy", skip_invalid=True)
    assert stats.records == 3 and stats.docs == 2 and len(stats.skipped) == 1
    assert len(DocBin().from_disk(tmp_path / "out.spacy")) == 2


def test_malformed_json_and_empty_corpus(tmp_path):
    src = tmp_path / "x.json"
    src.write_text('[{"tokens": ["a"]', encoding="utf8")
    with pytest.raises(DynCleanError, match="malformed JSON"):
        convert(src, tmp_path / "out.spacy")
    with pytest.raises(DynCleanError, match="empty"):
        convert(write_json(tmp_path / "e.json", []), tmp_path / "out.spacy")


def test_never_overwrites_input(tmp_path):
    src = write_json(tmp_path / "x.json", TRAIN_RECORDS)
    with pytest.raises(DynCleanError, match="overwrite"):
        convert(src, src)


def test_docbin_input_gets_ids(tmp_path):
    src = write_json(tmp_path / "x.json", TRAIN_RECORDS)
    convert(src, tmp_path / "a.spacy")
    convert(tmp_path / "a.spacy", tmp_path / "b.spacy")
    a = read_docbin(tmp_path / "a.spacy", Vocab())
    b = read_docbin(tmp_path / "b.spacy", Vocab())
    assert [d.user_data[DOC_ID_KEY] for d in a] == [d.user_data[DOC_ID_KEY] for d in b]
    assert [[e.label_ for e in d.ents] for d in a] == [[e.label_ for e in d.ents] for d in b]
