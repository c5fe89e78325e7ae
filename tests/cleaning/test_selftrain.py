import json

import spacy

from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.convert import read_docbin
from spacy_dynclean.cleaning.selftrain import fill_docs, masked_regions, run_fill

from .test_detectors import cased_evidence


def cleaned_cased(tmp_path):
    """The cased test corpus cleaned by the goldfree preset ("Carl Lee" masked), as c.spacy."""
    cased_evidence(tmp_path)
    run_clean("goldfree", tmp_path / "c.spacy", overrides={"paths.corpus": str(tmp_path / "cased.spacy"),
                                                           "evidence.max_span_length": 3})
    return read_docbin(tmp_path / "c.spacy")


def ruler_teacher(tmp_path, pattern):
    """A teacher pipeline (in tmp_path/teacher) that calls `pattern` a PER."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PER", "pattern": pattern}])
    nlp.to_disk(tmp_path / "teacher")


def test_teacher_decides_the_masked_regions(tmp_path):
    docs = cleaned_cased(tmp_path)
    carl = next(d for d in docs if "Carl" in d.text)
    assert masked_regions(carl) == [(2, 4)]
    # the teacher calls "Carl Lee" a PER and also predicts "Oslo" (kept) and "he" (not masked: ignored)
    preds = [[(2, 4, "PER", 0.9), (5, 6, "LOC", 0.8), (0, 1, "ORG", 0.99)] if d is carl else [] for d in docs]
    filled, counts = fill_docs(docs, preds)
    new = filled[docs.index(carl)]
    assert [(e.text, e.label_) for e in new.ents] == [("Carl Lee", "PER"), ("Oslo", "LOC")]
    assert all(t.ent_iob_ != "" for t in new) and len(new.spans["dynclean_ignored"]) == 0
    assert counts["masked_filled_with_entity"] == 1 and counts["masked_regions"] == 1
    # with unlabelled_min_score, a confident entity in unlabelled text is added too
    filled, counts = fill_docs(docs, preds, unlabelled_min_score=0.95)
    assert "he" in [e.text for e in filled[docs.index(carl)].ents]
    assert counts["unlabelled_filled_with_entity"] == 1


def test_keep_masked_only_adds_the_teachers_entities(tmp_path):
    docs = cleaned_cased(tmp_path)
    carl = next(d for d in docs if "Carl" in d.text)
    # the teacher calls only "Carl" a PER: "Lee" stays masked, and so does the whole region without a prediction
    filled, counts = fill_docs(docs, [[(2, 3, "PER", 0.9)] if d is carl else [] for d in docs], keep_masked=True)
    new = filled[docs.index(carl)]
    assert [(e.text, e.label_) for e in new.ents] == [("Carl", "PER")] + [(e.text, e.label_) for e in carl.ents]
    assert [t.text for t in new if t.ent_iob_ == ""] == ["Lee"]
    assert counts["masked_tokens_kept_masked"] == 1 and "masked_tokens_set_non_entity" not in counts
    filled, _ = fill_docs(docs, [[] for _ in docs], keep_masked=True)
    assert [[(t.ent_iob_, t.ent_type_) for t in d] for d in filled] == [[(t.ent_iob_, t.ent_type_) for t in d]
                                                                        for d in docs]
    assert [t.text for t in filled[docs.index(carl)] if t.ent_iob_ == ""] == ["Carl", "Lee"]


def test_run_fill_with_a_pipeline(tmp_path):
    cleaned_cased(tmp_path)
    ruler_teacher(tmp_path, "Carl Lee")
    report = run_fill(tmp_path / "teacher", tmp_path / "c.spacy", tmp_path / "f.spacy")
    assert report["changes"]["masked_filled_with_entity"] == 1
    doc = next(d for d in read_docbin(tmp_path / "f.spacy") if "Carl" in d.text)
    assert ("Carl Lee", "PER") in [(e.text, e.label_) for e in doc.ents]
    assert (tmp_path / "f.report.json").exists()


def test_fill_cli_keep_masked(tmp_path):
    from ..test_cli import run_cli

    cleaned_cased(tmp_path)
    ruler_teacher(tmp_path, "Carl")
    out = run_cli("fill", tmp_path / "teacher", tmp_path / "c.spacy", tmp_path / "f.spacy", "--keep-masked")
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "f.report.json").read_text())
    assert report["keep_masked"] is True and report["changes"]["masked_tokens_kept_masked"] == 1
    doc = next(d for d in read_docbin(tmp_path / "f.spacy") if "Carl" in d.text)
    assert [t.text for t in doc if t.ent_iob_ == ""] == ["Lee"]
    assert [(s.start, s.end) for s in doc.spans["dynclean_ignored"]] == [(2, 4)]
