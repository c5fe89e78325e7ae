"""Tiny in-memory corpora and dynamics shared by the unit tests."""
import json
from pathlib import Path
from typing import Any, Dict, Optional

import numpy
from spacy.vocab import Vocab

from spacy_dynclean.convert import read_records, records_to_docs, write_docbin
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.recording.samples import SampleIndex, candidate_row, select_threshold_samples

RECORDS = [
    # "The" is a spurious MISC (false positive); "Berlin" is missed (false negative)
    {"tokens": ["The", "mayor", "of", "Paris", "met", "Anna", "in", "Berlin"],
     "entities": [[0, 0, "MISC"], [3, 3, "LOC"], [5, 5, "PER"]]},
    {"tokens": ["Hello", "world"], "entities": []},
    {"tokens": ["Bob", "Smith", "left"], "entities": [[0, 1, "PER"]]},
]
GOLD = [
    dict(RECORDS[0], entities=[[3, 3, "LOC"], [5, 5, "PER"], [7, 7, "LOC"]]),
    RECORDS[1],
    RECORDS[2],
]
LABELS = ["LOC", "MISC", "PER"]
MAXLEN = 3
RECORDED = Path(__file__).parent / "data" / "recorded"


def docs_of(tmp_path, records, name):
    src = tmp_path / f"{name}.json"
    src.write_text(json.dumps(records), encoding="utf8")
    return records_to_docs(read_records(src), Vocab())


def make_dynamics(docs, low=(), threshold=False, labels=LABELS):
    """Dynamics where every sample has margin 5 except the (doc, start, end)
    keys in `low`, which get -5 (and, given a 4th item, that prediction)."""
    index = SampleIndex.from_docs(docs, labels, max_span_length=MAXLEN, spans_key="sc",
                                  ignore_key="dynclean_ignored")
    if threshold:
        select_threshold_samples(index, seed=0, n_positives=2, n_negatives=2)
    margins = numpy.full((len(index), 2), 5.0, dtype="float32")
    preds = numpy.repeat(index.label[:, None], 2, axis=1).astype("int8")
    for doc_i, s, e, *p in low:
        did = docs[doc_i].user_data["dynclean_id"]
        b, _ = index.rows_for(did)
        row = b + candidate_row(s, e, len(docs[doc_i]), MAXLEN)
        margins[row] = -5.0
        if p:
            preds[row] = p[0]
    if threshold:
        margins[(index.flags & 2) > 0] = 0.0
    meta = {"mode": "epoch", "epochs": [0, 1], "settings": {"spans_key": "sc", "ignore_key": "dynclean_ignored"}}
    return Dynamics.from_index(index, margins, numpy.full(margins.shape, 0.5, "float16"), preds, meta)


def write_setup(tmp_path, low=(), threshold=True, records=RECORDS):
    """train.spacy, dyn/ and thr/ in tmp_path; returns the docs."""
    docs = docs_of(tmp_path, records, "ds")
    write_docbin(docs, tmp_path / "train.spacy")
    make_dynamics(docs, low=low).to_disk(tmp_path / "dyn")
    make_dynamics(docs, threshold=threshold).to_disk(tmp_path / "thr")
    return docs


def overrides(tmp_path, heldout: Optional[Path] = None, **extra: Any) -> Dict[str, Any]:
    """Config overrides for the files of `write_setup`; without `heldout`
    the decision uses the AUM detector for both kinds."""
    out: Dict[str, Any] = {"paths.corpus": str(tmp_path / "train.spacy"), "paths.dynamics": str(tmp_path / "dyn"),
                           "paths.threshold_dynamics": str(tmp_path / "thr")}
    if heldout is not None:
        out["paths.heldout"] = str(heldout)
    else:
        out.update({"decision.positives": ["aum"], "decision.negatives": ["aum"]})
    out.update(extra)
    return out


def copy_project(tmp_path: Path) -> Path:
    """The project's files (project.yml, configs, assets) in a fresh folder, as a user's checkout has them."""
    import shutil

    root = Path(__file__).parent.parent
    project = tmp_path / "project"
    project.mkdir()
    for name in ("project.yml", "configs", "assets"):
        src = root / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, project / name)
    return project
