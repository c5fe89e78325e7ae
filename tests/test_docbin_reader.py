import zlib

import pytest
import srsly
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from spacy_dynclean import docbin_reader
from spacy_dynclean.convert import read_docbin
from spacy_dynclean.docbin_reader import iter_docbin
from spacy_dynclean.util import DynCleanError
from tests.test_docbin import reference, varied_docs


def as_bytes(docs):
    return [d.to_bytes() for d in docs]


def spacys_docs(data):
    return list(DocBin().from_bytes(data).get_docs(Vocab()))


@pytest.mark.parametrize("pick", [slice(0, 4), slice(0, 1), slice(1, 3), slice(0, 0)])
def test_iter_docbin_reads_what_spacy_reads(tmp_path, pick):
    docs = varied_docs()[pick]
    path = tmp_path / "x.spacy"
    path.write_bytes(reference(docs))
    assert as_bytes(iter_docbin(path)) == as_bytes(spacys_docs(reference(docs)))


def test_iter_docbin_in_tiny_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(docbin_reader, "IN_CHUNK", 3)
    monkeypatch.setattr(docbin_reader, "OUT_CHUNK", 5)
    monkeypatch.setattr(docbin_reader, "BLOCK_TOKENS", 3)
    docs = varied_docs() * 40
    path = tmp_path / "x.spacy"
    path.write_bytes(reference(docs))
    back = list(iter_docbin(path))
    assert as_bytes(back) == as_bytes(spacys_docs(reference(docs)))
    assert back[4].spans["sc"][1].kb_id_ == "Q90" and back[5].user_data["dynclean_id"] == "b-1"


def test_iter_docbin_without_user_data_and_unknown_spaces(tmp_path):
    vocab = Vocab()
    docs = [Doc(vocab, words=["a", "b"]), Doc(vocab, words=["c"], spaces=[False])]
    data = DocBin(store_user_data=False, docs=docs).to_bytes()
    path = tmp_path / "x.spacy"
    path.write_bytes(data)
    back = list(iter_docbin(path))
    assert as_bytes(back) == as_bytes(spacys_docs(data))
    assert [d.text_with_ws for d in back] == ["a b ", "c"]


@pytest.mark.parametrize("cut", [1, 10, 100, -5])
def test_iter_docbin_truncated_is_one_line(tmp_path, cut):
    data = reference(varied_docs() * 5)
    path = tmp_path / "cut.spacy"
    path.write_bytes(data[:cut])
    with pytest.raises(DynCleanError, match="cut.spacy: not a readable DocBin"):
        list(iter_docbin(path))


def test_iter_docbin_other_format_and_missing(tmp_path):
    path = tmp_path / "x.spacy"
    path.write_bytes(zlib.compress(srsly.msgpack_dumps([1, 2, 3])))
    with pytest.raises(DynCleanError, match="x.spacy: not a readable DocBin"):
        list(iter_docbin(path))
    with pytest.raises(DynCleanError, match="nope.spacy"):
        list(iter_docbin(tmp_path / "nope.spacy"))
    with pytest.raises(DynCleanError, match="x.spacy: not a readable DocBin"):
        read_docbin(path)
