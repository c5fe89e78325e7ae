import io
import zlib

import pytest
import srsly
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from spacy_dynclean import docbin
from spacy_dynclean.convert import read_docbin, write_docbin as write_file
from spacy_dynclean.docbin import array_header, bin_header, write_docbin
from spacy_dynclean.util import DynCleanError


def varied_docs():
    vocab = Vocab()
    a = Doc(vocab, words=["Anna", "met", "Bob", "in", "Paris", "."])
    a.set_ents([Span(a, 0, 1, label="PER")], missing=[a[3:4]], default="outside")
    a.spans["sc"] = [Span(a, 0, 1, label="PER"), Span(a, 4, 5, label="LOC", kb_id="Q90")]
    a.spans["dynclean_ignored"] = [a[3:4]]
    a.user_data["dynclean_id"] = "a-0"
    a.cats = {"news": 1.0}
    b = Doc(vocab, words=["no", "names"], spaces=[True, False])
    b.user_data["dynclean_id"] = "b-1"
    empty = Doc(vocab, words=[])
    return [a, b, empty, a.copy()]


def reference(docs):
    return DocBin(store_user_data=True, docs=docs).to_bytes()


def streamed(docs):
    out = io.BytesIO()
    write_docbin(docs, out)
    return out.getvalue()


@pytest.mark.parametrize("pick", [slice(0, 4), slice(0, 1), slice(1, 3), slice(0, 0)])
def test_the_same_bytes_as_spacys_docbin(pick):
    docs = varied_docs()[pick]
    assert streamed(docs) == reference(docs)


def test_the_same_bytes_when_compressed_in_many_chunks(monkeypatch):
    monkeypatch.setattr(docbin, "CHUNK", 7)
    docs = varied_docs() * 50
    assert streamed(docs) == reference(docs)


def test_a_written_file_reads_back(tmp_path):
    docs = varied_docs()
    write_file(docs, tmp_path / "x.spacy")
    back = read_docbin(tmp_path / "x.spacy")
    assert [d.text for d in back] == [d.text for d in docs]
    assert [(s.start, s.end, s.label_, s.kb_id_) for s in back[0].spans["sc"]] == [(0, 1, "PER", ""), (4, 5, "LOC", "Q90")]
    assert back[0].user_data["dynclean_id"] == "a-0" and back[0].cats == {"news": 1.0}


@pytest.mark.parametrize("n", [0, 1, 15, 16, 255, 256, 65535, 65536, 70000])
def test_headers_match_msgpack(n):
    value = b"x" * n
    assert srsly.msgpack_dumps(value) == bin_header(n) + value
    items = [1] * n
    assert srsly.msgpack_dumps(items) == array_header(n) + b"\x01" * n


def test_over_four_gigabytes_is_refused():
    with pytest.raises(DynCleanError, match="split the corpus"):
        bin_header(1 << 32)


def test_stream_is_zlib():
    data = srsly.msgpack_dumps({"a": list(range(1000))})
    out = io.BytesIO()
    stream = docbin.Compressed(out)
    for i in range(0, len(data), 10):
        stream.write(data[i: i + 10])
    stream.close()
    assert out.getvalue() == zlib.compress(data)



@pytest.mark.parametrize("pick", [slice(None), slice(0, 0), slice(2, 3)])
def test_a_writer_of_docs_one_at_a_time_writes_spacys_bytes(tmp_path, monkeypatch, pick):
    """`DocBinWriter` (a cleaning in batches) packs the same message though it
    learns the number of docs at the end; its temporary files are closed (gone)."""
    monkeypatch.setattr(docbin, "CHUNK", 7)
    docs = varied_docs()[pick]
    out = io.BytesIO()
    writer = docbin.DocBinWriter(out, tmp_path)
    for doc in docs:
        writer.add(doc)
    writer.close()
    assert out.getvalue() == reference(docs)
    assert all(spool.closed for spool in writer.spools.values())
