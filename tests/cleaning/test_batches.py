"""Cleaning in batches (`[evidence] batch_size`): the same corpus and report
as the whole corpus in memory, in a few passes; what cannot be batched is
refused in one line."""
import json
from collections import Counter
from typing import Any, Dict, Iterator, List

import pytest

from spacy_dynclean.cleaning.batches import Passes
from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.util import DynCleanError

from ..helpers import RECORDED, docs_of, make_dynamics, write_setup
from .test_clean import recorded_overrides
from .test_scale import corpus

# what differs between the two ways by design: the output's name, the override, the config that says it, the time
VARYING = ("output", "overrides", "resolved_config", "seconds")


def both_ways(tmp_path, config: Any, overrides: Dict[str, Any], batch_size: int) -> Dict[str, Any]:
    """Clean in memory and in batches; the corpora must be the same bytes. Returns the batch report."""
    whole = run_clean(config, tmp_path / "whole.spacy", overrides=overrides)
    name = f"batches-{batch_size}.spacy"
    batched = run_clean(config, tmp_path / name, overrides={**overrides, "evidence.batch_size": batch_size})
    assert (tmp_path / name).read_bytes() == (tmp_path / "whole.spacy").read_bytes()
    assert {k: v for k, v in whole.items() if k not in VARYING} == {k: v for k, v in batched.items()
                                                                     if k not in VARYING}
    assert list(whole) == list(batched)
    return batched


@pytest.mark.parametrize("case", ["heldout", "dynamics", "relabel_both"])
@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_the_default_preset_in_batches_writes_the_same(tmp_path, case, batch_size):
    report = both_ways(tmp_path, "default", recorded_overrides(case), batch_size)
    assert report["flagged_negatives"] > 0 and report["docs_in"] == 60


@pytest.mark.parametrize("preset", ["goldfree", "combined"])
@pytest.mark.parametrize("batch_size", [3, 13])
def test_the_presets_in_batches_write_the_same(tmp_path, preset, batch_size):
    overrides = {"paths.corpus": str(RECORDED / "train-ds.spacy"), "paths.dynamics": str(RECORDED / "dyn")}
    if preset == "combined":
        # the recorded evidence predates the dev occurrence counts that min_entity_share reads
        overrides.update({"paths.heldout": str(RECORDED / "heldout.json"), "detectors.heldout.min_entity_share": 0})
    report = both_ways(tmp_path, preset, overrides, batch_size)
    assert report["flagged_positives"] + report["flagged_negatives"] > 0


def lower_records(n: int) -> List[Dict[str, Any]]:
    """`corpus(n)` in lower case, and "the" labelled in a few sentences (the form counts flag it)."""
    out = []
    for i, record in enumerate(corpus(n)):
        ents = record["entities"] + ([[0, 0, "MISC"]] if i % 4 == 0 else [])
        out.append({"tokens": [t.lower() for t in record["tokens"]], "entities": sorted(ents)})
    return out


@pytest.mark.parametrize("records", ["cased", "lower"])
def test_per_form_decisions_and_corpus_counts_add_up_over_batches(tmp_path, records):
    """Per-form flags of the dynamics (`per_form`), the form counts (where the
    structure abstains) and the structure's own counts decide over the whole
    corpus though every batch holds a few of the sentences."""
    recs = corpus(24) if records == "cased" else lower_records(24)
    low = [(i, c, c + 1) for i in range(0, 24, 2) for c in (5, 7)]  # names the model finds entity-like
    write_setup(tmp_path, low=low, records=recs)
    overrides = {"paths.corpus": str(tmp_path / "train.spacy"), "paths.dynamics": str(tmp_path / "dyn"),
                 "detectors.learned.min_ratio": 0.0, "evidence.max_span_length": 3}
    report = both_ways(tmp_path, "goldfree", overrides, 5)
    assert report["detectors"]["learned"]["flagged_negatives"] > 0
    if records == "lower":
        assert report["detectors"]["forms"]["flagged_positives"] == 6  # "the" MISC in 6 of 24 sentences
        assert report["decision"]["trusted"]["positives"] == ["forms"]


def test_a_batch_clean_says_its_passes(tmp_path, capsys):
    overrides = {"paths.corpus": str(RECORDED / "train-ds.spacy"), "paths.dynamics": str(RECORDED / "dyn"),
                 "evidence.batch_size": 20}
    run_clean("goldfree", tmp_path / "out.spacy", overrides=overrides)
    out = " ".join(capsys.readouterr().out.split())
    assert "in batches of 20 docs" in out and "Pass 1 over 60 docs" in out and "casing" in out


@pytest.mark.parametrize("extra, match", [
    ({"paths.dynamics": None}, "batch_size needs paths.dynamics"),
    ({"decision.max_label_fraction": 0.5}, "max_label_fraction .* needs every sample at once"),
    ({"detectors.aum.method": "mixture", "decision.negatives": ["aum"]}, "aum method 'mixture' .* every sample"),
    ({"evidence.batch_size": 0}, r"\[evidence\] batch_size must be a whole number"),
    ({"evidence.batch_size": "ten"}, r"\[evidence\] batch_size must be a whole number"),
])
def test_what_cannot_be_batched_is_refused_in_one_line(tmp_path, extra, match):
    overrides = {**recorded_overrides("heldout"), "evidence.batch_size": 10, **extra}
    with pytest.raises(DynCleanError, match=match):
        run_clean("default", tmp_path / "out.spacy", overrides=overrides)
    assert not (tmp_path / "out.spacy").exists()


def test_a_corpus_that_is_not_the_recorded_one_is_refused(tmp_path):
    docs = read_docbin(RECORDED / "train-ds.spacy")
    changed = docs[:]
    changed[3] = changed[3].copy()
    changed[3].spans["sc"] = []  # its distant entities gone
    changed[3].ents = []
    write_docbin(changed, tmp_path / "other.spacy")
    overrides = {**recorded_overrides("heldout"), "paths.corpus": str(tmp_path / "other.spacy"),
                 "evidence.batch_size": 2}
    with pytest.raises(DynCleanError, match=r"other.spacy: a doc among docs 2-3 differs from the corpus"):
        run_clean("default", tmp_path / "out.spacy", overrides=overrides)
    write_docbin(docs[:-1], tmp_path / "short.spacy")
    overrides["paths.corpus"] = str(tmp_path / "short.spacy")
    with pytest.raises(DynCleanError, match="59 docs, the dynamics have 60"):
        run_clean("default", tmp_path / "out.spacy", overrides=overrides)
    write_docbin(docs + docs[:1], tmp_path / "twice.spacy")
    overrides["paths.corpus"] = str(tmp_path / "twice.spacy")
    with pytest.raises(DynCleanError, match="doc 60: duplicate sample id"):
        run_clean("default", tmp_path / "out.spacy", overrides=overrides)


def fake_batches(tmp_path, sizes: List[int]):
    """Batches of the tiny corpus of `write_setup`'s kind, one doc list per size."""
    records = corpus(sum(sizes))
    docs = docs_of(tmp_path, records, "ds")
    dyn = make_dynamics(docs)
    parts, first = [], 0
    for size in sizes:
        parts.append(docs[first:first + size])
        first += size

    def batches(statistics: Dict[Any, Any]) -> Iterator[Evidence]:
        start = 0
        for part in parts:
            yield Evidence(corpus=tmp_path, docs=part, samples=dyn, statistics=statistics, first_doc=start)
            start += len(part)

    return batches


def test_passes_count_what_depends_on_other_counts_one_pass_later(tmp_path):
    """A count that needs another is counted the pass after it, and a count
    first asked for by a later batch is counted over every batch."""
    batches = fake_batches(tmp_path, [2, 3, 4])
    seen: List[int] = []

    def docs(ev: Evidence) -> int:
        return len(ev.docs)

    def twice(ev: Evidence) -> int:
        (n,) = ev.counts({"docs": docs})
        return 2 * n * len(ev.docs)

    def visit(ev: Evidence) -> None:
        (n, m) = ev.counts({"docs": docs, "twice": twice})
        if ev.first_doc >= 5:  # asked for only by the last batch
            ev.counts({"late": lambda e: Counter(first=e.first_doc)})
        seen.append(n + m)

    passes = Passes(batches)
    # 1: "docs" counted ("twice" needs it); 2: "twice" counted; 3: the last batch asks for "late";
    # 4: "late" counted over every batch; 5: every batch visited with every count
    assert passes.run(visit, seen.clear) == 5
    assert passes.statistics["docs"] == 9 and passes.statistics["twice"] == 2 * 9 * 9
    assert passes.statistics["late"] == Counter(first=0 + 2 + 5)
    assert seen == [9 + 162] * 3


def test_a_count_that_never_settles_is_an_error(tmp_path):
    batches = fake_batches(tmp_path, [1, 1])
    calls = {"n": 0}

    def visit(ev: Evidence) -> None:
        calls["n"] += 1
        ev.counts({("new", calls["n"]): lambda e: 1})

    with pytest.raises(DynCleanError, match="still asks for new corpus counts after 10 passes"):
        Passes(batches).run(visit, lambda: None)


def test_the_report_of_a_batch_clean_lists_rows_of_the_whole_table(tmp_path):
    overrides = {**recorded_overrides("heldout"), "evidence.batch_size": 9}
    report = run_clean("default", tmp_path / "out.spacy", overrides=overrides)
    rows = report["flagged_rows"]["negatives"]
    assert rows == sorted(rows) and len(rows) == report["flagged_negatives"]
    expected = json.loads((RECORDED / "expected.json").read_text())["heldout"]
    assert rows == expected["negatives"]
