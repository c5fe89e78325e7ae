import json

import numpy
import pytest
import spacy
from spacy.training import Example
from spacy.util import fix_random_seed

from spacy_dynclean import Dynamics, DynCleanError
from spacy_dynclean.recording.callbacks import RecordDynamics, finish_recording
from spacy_dynclean.convert import read_records, records_to_docs
from spacy_dynclean.recording.samples import n_candidates

from ..conftest import TRAIN_RECORDS


def make_docs(tmp_path, nlp, records=TRAIN_RECORDS):
    src = tmp_path / "train.json"
    src.write_text(json.dumps(records), encoding="utf8")
    return records_to_docs(read_records(src), nlp.vocab)


def make_nlp(**cfg):
    nlp = spacy.blank("en")
    nlp.add_pipe("dynclean_ner", config={"max_span_length": 3, **cfg})
    return nlp


def examples_for(nlp, docs):
    from spacy.tokens import Doc

    return [Example(Doc(nlp.vocab, words=[t.text for t in d]), d) for d in docs]


def train(nlp, examples, n_iter=40, callback=None):
    fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    step = 0
    for epoch in range(n_iter):
        for i in range(0, len(examples), 2):
            if callback is not None:
                callback(nlp, {"epoch": epoch, "step": step})
            nlp.update(examples[i : i + 2], sgd=optimizer, drop=0.0)
            step += 1
    if callback is not None:
        finish_recording(nlp)
    return nlp


def test_overfit_and_round_trip(tmp_path):
    nlp = make_nlp()
    docs = make_docs(tmp_path, nlp)
    train(nlp, examples_for(nlp, docs), n_iter=60)
    texts = [" ".join(r["tokens"]) for r in TRAIN_RECORDS]
    expected = [[(e.start, e.end, e.label_) for e in d.ents] for d in docs]
    predicted = [[(e.start, e.end, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
    assert predicted == expected
    scores = nlp.evaluate(examples_for(nlp, docs))
    assert scores["ents_f"] == 1.0 and "PER" in scores["ents_per_type"]
    nlp.to_disk(tmp_path / "model")
    nlp2 = spacy.load(tmp_path / "model")
    assert [[(e.start, e.end, e.label_) for e in d.ents] for d in nlp2.pipe(texts)] == expected
    doc = nlp2(texts[1])
    assert [s.label_ for s in doc.spans["sc"]] == [e.label_ for e in doc.ents]


@pytest.mark.parametrize("mode", ["update", "epoch"])
def test_records_one_margin_per_candidate_per_epoch(tmp_path, mode):
    nlp = make_nlp(dynamics_mode=mode)
    docs = make_docs(tmp_path, nlp)
    callback = RecordDynamics(tmp_path / "dyn")
    train(nlp, examples_for(nlp, docs), n_iter=4, callback=callback)
    dyn = Dynamics.from_disk(tmp_path / "dyn")
    n_samples = sum(n_candidates(len(r["tokens"]), 3) for r in TRAIN_RECORDS)
    assert len(dyn) == n_samples
    assert dyn.margins.shape == (n_samples, 4)
    assert not numpy.isnan(dyn.margins).any()
    assert dyn.meta["mode"] == mode and dyn.meta["epochs"] == [0, 1, 2, 3]
    assert int(dyn.positive.sum()) == 9
    # margins grow as the model learns its training data
    assert dyn.margins[:, -1].mean() > dyn.margins[:, 0].mean()
    # the component stops recording when training ends: inference is inert
    assert nlp.get_pipe("dynclean_ner").recorder is None


def test_partial_update_epoch_dropped(tmp_path):
    nlp = make_nlp(dynamics_mode="update")
    docs = make_docs(tmp_path, nlp)
    examples = examples_for(nlp, docs)
    callback = RecordDynamics(tmp_path / "dyn")
    optimizer = nlp.initialize(lambda: examples)
    callback(nlp, {"epoch": 0, "step": 0})
    nlp.update(examples, sgd=optimizer)
    callback(nlp, {"epoch": 1, "step": 1})
    nlp.update(examples[:2], sgd=optimizer)  # stopped part-way through epoch 1
    finish_recording(nlp)
    assert Dynamics.from_disk(tmp_path / "dyn").margins.shape[1] == 1


def test_threshold_fake_label_never_predicted(tmp_path):
    nlp = make_nlp(threshold_samples=True, threshold_label="fake", threshold_positives=3,
                   threshold_negatives=20, threshold_negative_pool="all")
    docs = make_docs(tmp_path, nlp)
    callback = RecordDynamics(tmp_path / "dyn")
    train(nlp, examples_for(nlp, docs), n_iter=30, callback=callback)
    ner = nlp.get_pipe("dynclean_ner")
    assert ner.model.get_dim("nO") == 5  # 3 labels, non-entity, fake
    dyn = Dynamics.from_disk(tmp_path / "dyn")
    assert int(dyn.threshold.sum()) == 23
    assert (dyn.assigned[dyn.threshold] == 4).all()
    indices, scores = ner.predict([nlp.make_doc(" ".join(r["tokens"])) for r in TRAIN_RECORDS])
    assert scores.shape[1] == 4
    for doc in nlp.pipe([" ".join(r["tokens"]) for r in TRAIN_RECORDS]):
        assert {e.label_ for e in doc.ents} <= {"LOC", "ORG", "PER"}


def loss_rows(nlp, examples):
    ner = nlp.get_pipe("dynclean_ner")
    docs = [eg.predicted for eg in examples]
    spans = ner.suggester(docs, ops=ner.model.ops)
    n = int(spans.lengths.sum())
    probs = numpy.full((n, 4), 0.25, dtype="float32")
    return ner.get_loss(examples, (spans, ner.model.ops.asarray2f(probs)))[1], spans


def test_ignored_spans_leave_the_loss(tmp_path):
    nlp = make_nlp()
    docs = make_docs(tmp_path, nlp)
    # ignore "Paris" (a positive) and "lives in" (a negative) in doc 0
    docs[0].spans["dynclean_ignored"] = [docs[0][3:4], docs[0][1:3]]
    examples = examples_for(nlp, docs)
    nlp.initialize(lambda: examples)
    d_scores, _ = loss_rows(nlp, examples[:1])
    n = 5
    row_paris = 3
    row_lives_in = n + 1  # size-2 spans follow the n size-1 spans
    assert not d_scores[row_paris].any() and not d_scores[row_lives_in].any()
    assert d_scores[0].any()  # "Alice" is still learned


def test_hard_negative_sampling_keeps_most_entity_like(tmp_path):
    nlp = make_nlp(negative_sampling="hard", negative_fraction=0.5)
    docs = make_docs(tmp_path, nlp)
    examples = examples_for(nlp, docs)
    nlp.initialize(lambda: examples)
    ner = nlp.get_pipe("dynclean_ner")
    docs_x = [eg.predicted for eg in examples[:1]]
    spans = ner.suggester(docs_x, ops=ner.model.ops)
    n = int(spans.lengths.sum())
    probs = numpy.full((n, 4), 0.1, dtype="float32")
    probs[:, 3] = numpy.linspace(0.2, 0.7, n)  # p(non-entity) rises with the row
    probs /= probs.sum(axis=1, keepdims=True)
    d_scores = ner.get_loss(examples[:1], (spans, ner.model.ops.asarray2f(probs)))[1]
    positive_rows = {0, 3}
    negatives = [r for r in range(n) if r not in positive_rows]
    kept = [r for r in negatives if d_scores[r].any()]
    assert len(kept) == int(numpy.ceil(0.5 * len(negatives)))
    assert kept == negatives[: len(kept)]  # lowest p(non-entity) = most entity-like


def test_bad_settings_are_rejected():
    with pytest.raises(DynCleanError, match="negative_sampling"):
        make_nlp(negative_sampling="some")
    with pytest.raises(DynCleanError, match="dynamics_mode"):
        make_nlp(dynamics_mode="often")
    with pytest.raises(DynCleanError, match="max_span_length"):
        make_nlp(max_span_length=0)


def test_recording_needs_ids():
    nlp = make_nlp()
    from spacy.tokens import Doc

    doc = Doc(nlp.vocab, words=["Alice", "sings"])
    doc.ents = [doc.char_span(0, 5, label="PER")]
    eg = Example(Doc(nlp.vocab, words=["Alice", "sings"]), doc)
    nlp.initialize(lambda: [eg])
    with pytest.raises(DynCleanError, match="sample ids"):
        RecordDynamics("unused")(nlp, {"epoch": 0, "step": 0})
    with pytest.raises(DynCleanError, match="sample ids"):
        make_nlp(threshold_samples=True).initialize(lambda: [eg])


def test_the_saved_meta_names_the_package(tmp_path):
    """A pipeline without spacy-dynclean installed fails on the factory; its meta.json says what to install."""
    import json

    import spacy
    from spacy.training import Example

    nlp = spacy.blank("en")
    nlp.add_pipe("dynclean_ner")
    example = Example.from_dict(nlp.make_doc("Anna met Bob"), {"entities": [(0, 4, "PER")]})
    nlp.initialize(lambda: [example])
    nlp.initialize(lambda: [example])  # named once, however often initialized
    nlp.to_disk(tmp_path / "p")
    requirements = json.loads((tmp_path / "p" / "meta.json").read_text())["requirements"]
    assert [r.split(">=")[0] for r in requirements] == ["spacy-dynclean"]
