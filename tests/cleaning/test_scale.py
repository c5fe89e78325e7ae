"""Cleaning and review grow with the corpus, not with docs x samples.

The sample table's masks (`positive`, `candidates`, ...) are computed over the
whole corpus on each access; read once per sentence or per flagged row, they
made `clean` and `review` quadratic (a 5x corpus took 12x the time). Counting
the accesses on two corpus sizes catches such a loop without timing anything.
"""
import json

import pytest

from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.review.run import run_review

from ..helpers import overrides, write_setup

MASKS = ("positive", "candidates", "threshold", "ignored")


def corpus(n):
    """n sentences with capitalized names, some missed, some labelled."""
    names = ["Paris", "Berlin", "Anna", "Oslo", "Rome", "Bob"]
    out = []
    for i in range(n):
        a, b = names[i % 6], names[(i + 1) % 6]
        out.append({"tokens": ["The", "mayor", "of", a, "met", b, "in", f"Town{i % 5}", "today"],
                    "entities": [[3, 3, "LOC"]] + ([[5, 5, "PER"]] if i % 3 else [])})
    return out


@pytest.fixture
def count_masks(monkeypatch):
    counts = {"n": 0}
    for name in MASKS:
        fget = getattr(Dynamics, name).fget

        def counted(self, fget=fget):
            counts["n"] += 1
            return fget(self)

        monkeypatch.setattr(Dynamics, name, property(counted))
    return counts


@pytest.mark.parametrize("run", ["clean", "review"])
@pytest.mark.parametrize("preset", ["goldfree", "default"])
def test_mask_reads_do_not_grow_with_the_corpus(tmp_path, count_masks, run, preset):
    reads = []
    for n in (12, 48):
        folder = tmp_path / str(n)
        folder.mkdir()
        # every third sentence's missed name and its "The" have low margins (the AUM detector's flags)
        low = [(i, c, c + 1) for i in range(0, n, 3) for c in (0, 5)]
        write_setup(folder, low=low, records=corpus(n))
        if preset == "default":  # the AUM detector and its threshold run: no dev evidence here
            paths = overrides(folder)
        else:
            paths = {"paths.corpus": str(folder / "train.spacy"), "paths.dynamics": str(folder / "dyn")}
        count_masks["n"] = 0
        if run == "clean":
            report = run_clean(preset, folder / "out.spacy", overrides=paths)
            flagged = report["flagged_positives"] + report["flagged_negatives"]
        else:
            run_review(preset, folder / "review", overrides=paths)
            flagged = len(json.loads((folder / "review" / "groups.json").read_text())["groups"])
        assert flagged > 0  # something was flagged, so the per-row paths ran
        reads.append(count_masks["n"])
    assert reads[0] == reads[1], f"mask reads grow with the corpus: {reads}"
