import json

import pytest
from spacy.tokens import Span

from spacy_dynclean.convert import write_docbin
from spacy_dynclean.evaluation.audit import audit, run_audit
from spacy_dynclean.util import CHANGES_KEY, DynCleanError
from tests.helpers import GOLD, RECORDS, docs_of


def three(tmp_path):
    distant, gold = docs_of(tmp_path, RECORDS, "d"), docs_of(tmp_path, GOLD, "g")
    cleaned = [distant[0].copy(), distant[2].copy()]  # doc 1 dropped
    doc = cleaned[0]
    doc.spans["sc"] = [s for s in doc.spans["sc"] if s.label_ != "MISC"]  # "The" MISC removed
    doc.set_ents([Span(doc, 3, 4, "LOC"), Span(doc, 5, 6, "PER")], default="outside")
    doc.user_data[CHANGES_KEY] = ["removed The"]
    return distant, cleaned, gold


def test_streamed_audit_is_the_in_memory_audit_in_any_order(tmp_path):
    distant, cleaned, gold = three(tmp_path)
    write_docbin(distant, tmp_path / "d.spacy")
    write_docbin(cleaned[::-1], tmp_path / "c.spacy")  # other orders: read ahead and wait
    write_docbin(gold[::-1], tmp_path / "g.spacy")
    result = run_audit(tmp_path / "d.spacy", tmp_path / "c.spacy", tmp_path / "g.spacy", tmp_path / "a.json")
    assert result == audit(distant, cleaned, gold)
    assert json.loads((tmp_path / "a.json").read_text())["docs_dropped"] == 1
    assert (result["real_false_positives"], result["flagged_positives"], result["flagged_real_false_positives"]) \
        == (1, 1, 1)
    assert result["real_false_negatives"] == 1 and result["docs"] == 3 and result["docs_dropped"] == 1


def test_a_doc_twice_is_one_line_naming_the_file(tmp_path):
    distant, cleaned, gold = three(tmp_path)
    write_docbin(distant, tmp_path / "d.spacy")
    write_docbin(cleaned, tmp_path / "c.spacy")
    write_docbin(gold + gold[:1], tmp_path / "g2.spacy")
    with pytest.raises(DynCleanError, match="g2.spacy: doc id .* occurs twice"):
        run_audit(tmp_path / "d.spacy", tmp_path / "c.spacy", tmp_path / "g2.spacy", tmp_path / "a.json")
    assert not (tmp_path / "a.json").exists()


def test_cleaned_tokens_must_be_the_distant_ones(tmp_path):
    distant, cleaned, gold = three(tmp_path)
    other = docs_of(tmp_path, [dict(RECORDS[2], tokens=["Bob", "Smith", "right"])], "o")[0]
    other.user_data.update(cleaned[1].user_data)
    write_docbin(distant, tmp_path / "d.spacy")
    write_docbin([cleaned[0], other], tmp_path / "c.spacy")
    write_docbin(gold, tmp_path / "g.spacy")
    with pytest.raises(DynCleanError, match="c.spacy: doc .* has other tokens"):
        run_audit(tmp_path / "d.spacy", tmp_path / "c.spacy", tmp_path / "g.spacy", tmp_path / "a.json")


def test_an_empty_distant_file_is_one_line(tmp_path):
    distant, cleaned, gold = three(tmp_path)
    write_docbin([], tmp_path / "empty.spacy")
    write_docbin(cleaned, tmp_path / "c.spacy")
    write_docbin(gold, tmp_path / "g.spacy")
    with pytest.raises(DynCleanError, match="empty.spacy: empty corpus"):
        run_audit(tmp_path / "empty.spacy", tmp_path / "c.spacy", tmp_path / "g.spacy", tmp_path / "a.json")


def test_gold_in_another_order_is_read_ahead(tmp_path):
    distant, cleaned, gold = three(tmp_path)
    write_docbin(distant, tmp_path / "d.spacy")
    write_docbin(cleaned, tmp_path / "c.spacy")
    write_docbin([gold[2], gold[0], gold[1]], tmp_path / "g.spacy")
    shuffled = run_audit(tmp_path / "d.spacy", tmp_path / "c.spacy", tmp_path / "g.spacy", tmp_path / "a.json")
    write_docbin(gold, tmp_path / "g.spacy")
    assert shuffled == run_audit(tmp_path / "d.spacy", tmp_path / "c.spacy", tmp_path / "g.spacy", tmp_path / "b.json")


def test_a_missing_cleaned_file_is_one_line(tmp_path):
    distant, cleaned, gold = three(tmp_path)
    write_docbin(distant, tmp_path / "d.spacy")
    write_docbin(gold, tmp_path / "g.spacy")
    with pytest.raises(DynCleanError, match="nope.spacy: no such file"):
        run_audit(tmp_path / "d.spacy", tmp_path / "nope.spacy", tmp_path / "g.spacy", tmp_path / "a.json")


def test_progress_passes_every_doc_and_reports(capsys):
    from spacy_dynclean.evaluation.audit import progress

    assert list(progress(range(7), every=3)) == list(range(7))
    out = capsys.readouterr().out
    assert "audit: 3 docs" in out and "audit: 6 docs" in out and "audit: 7" not in out
