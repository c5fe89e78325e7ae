import numpy
import pytest

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
