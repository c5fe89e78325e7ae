import numpy
import pytest

from spacy_dynclean.evidence.folds import FoldPredictions, assign_folds, form_groups
from spacy_dynclean.util import DynCleanError

from ..cleaning.test_detectors import CASED
from ..helpers import docs_of


def test_entity_disjoint_folds(tmp_path):
    docs = docs_of(tmp_path, CASED, "c")
    folds = assign_folds(docs, 3, mode="entity-disjoint", seed=1)
    assert all(f and all(0 <= i < 3 for i in f) for f in folds)
    group = form_groups(docs, 3, numpy.random.default_rng(1))
    for i in range(3):  # fold i never trains on a form of group i, and predicts every doc holding one
        train = [d for d, f in zip(docs, folds) if i not in f]
        assert not any(group[s.text.lower()] == i for d in train for s in d.spans["sc"])
        assert all(i in f for d, f in zip(docs, folds) if any(group[s.text.lower()] == i for s in d.spans["sc"]))
    assert assign_folds(docs, 3, seed=1) == folds  # seeded
    assert [len(f) for f in assign_folds(docs, 3, mode="random")] == [1] * len(docs)
    with pytest.raises(DynCleanError, match="--folds"):
        assign_folds(docs, 1)


def test_fold_predictions_round_trip_and_bad_files(tmp_path):
    meta = {"format": "spacy-dynclean.folds.v1", "labels": ["PER"], "fingerprint": "x", "n_samples": 3}
    probs = numpy.full((3, 2), 0.5, "float16")
    FoldPredictions(meta, probs, numpy.ones(3, "int8")).to_disk(tmp_path / "f")
    back = FoldPredictions.from_disk(tmp_path / "f")
    assert back.labels == ["PER"] and numpy.array_equal(back.probs, probs)
    FoldPredictions(dict(meta, n_samples=4), probs, numpy.ones(3, "int8")).to_disk(tmp_path / "g")
    with pytest.raises(DynCleanError, match="do not fit 4 samples"):
        FoldPredictions.from_disk(tmp_path / "g")
    with pytest.raises(DynCleanError, match="no out-of-fold predictions"):
        FoldPredictions.from_disk(tmp_path / "none")
