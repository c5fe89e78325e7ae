import json

import numpy
import pytest
import spacy

from spacy_dynclean.recording.dynamics import Dynamics, margins_from_probs
from spacy_dynclean.util import DynCleanError


def test_margin_is_log_prob_difference_to_best_other():
    probs = numpy.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], dtype="float32")
    m, p = margins_from_probs(probs, numpy.array([0, 0, 2]))
    assert m[0] == pytest.approx(numpy.log(0.7 / 0.2), rel=1e-5)
    assert m[1] == pytest.approx(numpy.log(0.2 / 0.5), rel=1e-5)  # negative: mislabelled
    assert m[2] == pytest.approx(numpy.log(0.8 / 0.1), rel=1e-5)
    assert list(p) == pytest.approx([0.7, 0.2, 0.8])


def make_dynamics(n=4, epochs=3):
    rng = numpy.random.default_rng(0)
    arrays = {
        "doc": numpy.zeros(n, "int32"), "start": numpy.arange(n, dtype="int32"),
        "end": numpy.arange(n, dtype="int32") + 1, "label": numpy.array([0, 1, 1, 1][:n], "int16"),
        "assigned": numpy.array([0, 1, 1, 1][:n], "int16"), "flags": numpy.array([1, 0, 2, 0][:n], "uint8"),
        "margins": rng.normal(size=(n, epochs)).astype("float32"),
        "probs": rng.uniform(size=(n, epochs)).astype("float16"),
        "pred": rng.integers(0, 2, size=(n, epochs)).astype("int8"),
    }
    meta = {"format_version": 1, "labels": ["PER"], "doc_ids": ["d0"], "epochs": list(range(epochs))}
    return Dynamics(meta, arrays)


def test_round_trip_and_aum(tmp_path):
    dyn = make_dynamics()
    dyn.to_disk(tmp_path / "dyn")
    back = Dynamics.from_disk(tmp_path / "dyn")
    assert len(back) == 4 and back.margins.shape == (4, 3)
    assert numpy.array_equal(back.margins, dyn.margins)
    assert back.aum(2) == pytest.approx(dyn.margins[:, :2].mean(axis=1))
    assert back.aum() == pytest.approx(dyn.margins.mean(axis=1))
    assert back.keys()[1] == ("d0", 1, 2)
    assert list(back.positive) == [True, False, False, False]
    assert list(back.threshold) == [False, False, True, False]


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(DynCleanError, match="no dynamics file"):
        Dynamics.from_disk(tmp_path)
    (tmp_path / "dynamics.npz").write_bytes(b"not numpy")
    with pytest.raises(DynCleanError, match="not a readable"):
        Dynamics.from_disk(tmp_path)


def test_folder_holds_one_file_per_array_and_epoch_read_lazily(tmp_path):
    dyn = make_dynamics(epochs=3)
    dyn.to_disk(tmp_path / "dyn")
    names = sorted(p.name for p in (tmp_path / "dyn").iterdir())
    assert names == sorted(["dynamics.json", "doc.npy", "start.npy", "end.npy", "label.npy", "assigned.npy",
                            "flags.npy", *[f"{a}-{i:03d}.npy" for a in ("margins", "probs", "pred") for i in range(3)]])
    back = Dynamics.from_disk(tmp_path / "dyn")
    first = back.epochs_of("margins", 2, rows=numpy.array([1, 3]))
    assert numpy.array_equal(first, dyn.margins[[1, 3], :2])
    assert isinstance(back._columns["margins"], list)  # epochs_of stacked nothing it was not asked for
    assert all(isinstance(c, numpy.memmap) for c in back._columns["probs"])
    assert numpy.array_equal(back.pred, dyn.pred) and back.n_epochs == 3


def test_format_1_file_is_still_read(tmp_path):
    dyn = make_dynamics()
    (tmp_path / "dyn").mkdir()
    arrays = {k: getattr(dyn, k) for k in ("doc", "start", "end", "label", "assigned", "flags", "margins", "probs",
                                            "pred")}
    meta = numpy.frombuffer(json.dumps({**dyn.meta, "format_version": 1}).encode("utf8"), dtype="uint8")
    numpy.savez(tmp_path / "dyn" / "dynamics.npz", meta=meta, **arrays)
    back = Dynamics.from_disk(tmp_path / "dyn")
    assert numpy.array_equal(back.margins, dyn.margins) and back.aum(2) == pytest.approx(dyn.aum(2))
    back.to_disk(tmp_path / "dyn")  # written again: format 2 replaces the old file
    assert not (tmp_path / "dyn" / "dynamics.npz").exists()
    assert numpy.array_equal(Dynamics.from_disk(tmp_path / "dyn").margins, dyn.margins)


def test_recorder_writes_each_epoch_and_keeps_one_in_memory(tmp_path):
    from spacy_dynclean.recording.dynamics import DynamicsRecorder
    from spacy_dynclean.recording.samples import SampleIndex

    nlp = spacy.blank("en")
    doc = nlp("Anna met Bob")
    doc.spans["sc"] = [doc.char_span(0, 4, "PER")]
    doc.user_data["dynclean_id"] = "d0"
    index = SampleIndex.from_docs([doc], ["PER"], max_span_length=2, spans_key="sc", ignore_key="ignored")
    old = tmp_path / "dyn"
    make_dynamics(epochs=5).to_disk(old)  # an earlier, longer recording in the same folder
    rec = DynamicsRecorder(index, mode="update", output_dir=old)
    probs = numpy.full((len(index), 2), 0.5, dtype="float32")
    for epoch in range(2):
        rec.start_epoch(epoch)
        rec.record(numpy.arange(len(index)), probs)
        rec.complete_epoch()
        assert all(isinstance(c, numpy.memmap) for c in rec._margins)  # the written epochs live on disk
        back = Dynamics.from_disk(old)
        assert back.n_epochs == epoch + 1 and len(back) == len(index)
    assert not (old / "margins-002.npy").exists()  # the earlier recording's epochs are gone
    rec.start_epoch(2)  # an epoch cut short: the files still hold the two completed ones
    assert Dynamics.from_disk(old).n_epochs == 2
