import numpy
import pytest

from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.evidence.thresholds import (
    from_fraction,
    from_mixture,
    from_threshold_samples,
    gaussian_mixture_2,
    mixture_threshold,
    percentile_threshold,
    threshold_sample_kinds,
)
from spacy_dynclean.util import DynCleanError


def synthetic(label, assigned, flags, margins):
    n = len(label)
    arrays = {
        "doc": numpy.zeros(n, "int32"), "start": numpy.arange(n, dtype="int32"),
        "end": numpy.arange(n, dtype="int32") + 1, "label": numpy.array(label, "int16"),
        "assigned": numpy.array(assigned, "int16"), "flags": numpy.array(flags, "uint8"),
        "margins": numpy.array(margins, "float32").reshape(n, -1),
    }
    e = arrays["margins"].shape[1]
    arrays["probs"] = numpy.full((n, e), 0.5, "float16")
    arrays["pred"] = numpy.zeros((n, e), "int8")
    meta = {"format_version": 1, "labels": ["LOC", "PER"], "doc_ids": ["d"], "epochs": list(range(e))}
    return Dynamics(meta, arrays)


def test_percentile_known_answer():
    vals = numpy.arange(101, dtype=float)  # 0..100
    assert percentile_threshold(vals, 90) == pytest.approx(90.0)
    assert percentile_threshold(vals, 100) == 100.0
    assert percentile_threshold(numpy.array([]), 50) == float("-inf")
    with pytest.raises(DynCleanError):
        percentile_threshold(vals, 101)


def test_threshold_samples_per_kind_and_label():
    # labels: 0 LOC, 1 PER, 2 non-entity; fake column 3
    label = [0, 0, 1, 1, 2, 2, 2, 2, 0, 2]
    assigned = [3, 3, 3, 3, 3, 3, 3, 3, 0, 2]
    flags = [3, 3, 3, 3, 2, 2, 2, 2, 1, 0]  # threshold(+positive); last two are real samples
    margins = [-1.0, -3.0, -5.0, -7.0, -2.0, -4.0, -6.0, -8.0, 5.0, 9.0]
    dyn = synthetic(label, assigned, flags, margins)
    kinds = threshold_sample_kinds(dyn)
    assert list(kinds[:8]) == [True] * 4 + [False] * 4
    t = from_threshold_samples(dyn, k=None, positive_percentile=100, negative_percentile=50, per_label=True)
    assert t.positive == pytest.approx(-1.0)
    assert t.negative == pytest.approx(-5.0)
    assert t.positive_per_label == {"LOC": pytest.approx(-1.0), "PER": pytest.approx(-5.0)}
    assert list(t.for_positives(["LOC", "PER"], numpy.array([1, 0]))) == [-5.0, -1.0]


def test_swap_samples_calibrate_the_kind_they_are_trained_as():
    # a former entity trained as non-entity calibrates negatives, and vice versa
    dyn = synthetic([0, 2], [2, 1], [3, 2], [-1.0, -2.0])
    assert list(threshold_sample_kinds(dyn)) == [False, True]


def test_run_without_threshold_samples_is_an_error():
    dyn = synthetic([0, 2], [0, 2], [1, 0], [1.0, 2.0])
    with pytest.raises(DynCleanError, match="no threshold samples"):
        from_threshold_samples(dyn, k=None, positive_percentile=100, negative_percentile=90)


def test_mixture_finds_the_valley():
    rng = numpy.random.default_rng(0)
    vals = numpy.concatenate([rng.normal(-4, 0.5, 300), rng.normal(4, 0.5, 3000)])
    weights, means, stds = gaussian_mixture_2(vals)
    assert means[0] == pytest.approx(-4, abs=0.2) and means[1] == pytest.approx(4, abs=0.2)
    assert weights[0] == pytest.approx(300 / 3300, abs=0.02)
    cut = mixture_threshold(vals)
    assert -3 < cut < 3
    flagged = (vals < cut).sum()
    assert abs(flagged - 300) <= 5
    positive = numpy.zeros(len(vals), bool)
    t = from_mixture(vals, positive, numpy.ones(len(vals), bool))
    assert t.negative == pytest.approx(cut) and t.positive == float("-inf")


def test_fraction_flags_exactly_the_lowest():
    vals = numpy.array([5.0, 1.0, 3.0, 2.0, 4.0, 0.0])
    positive = numpy.array([True, True, True, False, False, False])
    t = from_fraction(vals, positive, numpy.ones(6, bool), positive_fraction=1 / 3, negative_fraction=0.0)
    assert ((vals < t.positive) & positive).sum() == 1 and ((vals < t.positive) & positive)[1]
    assert t.negative == float("-inf")


def test_auto_k_is_the_end_of_early_learning():
    from spacy_dynclean.evidence.scores import auto_k, resolve_k

    # 4 positives (flag 1) and a negative; positives fit: epoch 1: 1/4, epoch 2: 2/4, epoch 3: 4/4
    margins = [[1, 1, 1], [-1, 1, 1], [-1, -1, 1], [-1, -1, 1], [5, 5, 5]]
    dyn = synthetic([0, 0, 1, 1, 2], [0, 0, 1, 1, 2], [1, 1, 1, 1, 0], margins)
    assert auto_k(dyn) == 2
    assert auto_k(dyn, min_fit=0.9) == 3
    assert resolve_k(dyn, "auto") == 2 and resolve_k(dyn, 0) == 3 and resolve_k(dyn, None) == 3
    assert resolve_k(dyn, 7) == 3
    never = synthetic([0, 2], [0, 2], [1, 0], [[-1, -1], [2, 2]])
    assert auto_k(never) == 2  # never fits: all epochs
    with pytest.raises(DynCleanError):
        resolve_k(dyn, -1)
