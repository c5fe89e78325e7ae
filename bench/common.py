"""Shared helpers for the benchmark scripts: data paths, conversion, results."""
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Dict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DSNER_DATA", ROOT.parent / "shared" / "data" / "dsner"))
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"


#: suffix of a dataset name that asks for its lower-cased copy ("wiki-lc"): every split, the gold train
#: labels too, with every token lower-cased: a proxy for text whose names carry no case (biomedical
#: chemical and disease names, much social media), where the name structure abstains
LOWER = "-lc"


def source_json(dataset: str, split: str) -> Path:
    """The DS-NER JSON of a split; for a `-lc` dataset, the lower-cased copy
    of the cased one, written once into bench/work/data/ (same sentences,
    same order, same entity offsets)."""
    base = dataset[: -len(LOWER)] if dataset.endswith(LOWER) else dataset
    src = DATA / base / f"{split}.json"
    if not src.exists():
        raise SystemExit(f"{src} not found: set DSNER_DATA to the DS-NER data folder")
    if base == dataset:
        return src
    out = WORK / "data" / dataset / f"{split}.json"
    if not out.exists():
        records = json.loads(src.read_text(encoding="utf8"))
        lowered = [{**r, "tokens": [t.lower() for t in r["tokens"]]} for r in records]
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(lowered), encoding="utf8")
        tmp.replace(out)
    return out


def corpus(dataset: str, split: str) -> Path:
    """DocBin of a split, converted once into bench/work/ (`-lc`: the
    lower-cased copy, see `source_json`)."""
    from spacy_dynclean.convert import convert

    out = WORK / "corpus" / dataset / f"{split}.spacy"
    if not out.exists():
        convert(source_json(dataset, split), out)
    return out


def machine() -> Dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        # results of the same seed are bit-identical only under the same thread settings
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "date": time.strftime("%Y-%m-%d"),
    }


def save(name: str, data: Dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n", encoding="utf8")
    print(f"saved {path}")
    return path


def wrong_labels(dynamics, dataset: str):
    """Per sample of the dynamics: is its distant label wrong against gold?
    (Benchmarks only: gold is never an input to `clean`.)"""
    import numpy

    from spacy_dynclean.convert import read_docbin

    gold = read_docbin(corpus(dataset, "train-gs"))
    gold_labels = {(d.user_data["dynclean_id"], e.start, e.end): e.label_ for d in gold for e in d.ents}
    return numpy.array([gold_labels.get((doc_id, s, e)) != label for doc_id, s, e, label in sample_keys(dynamics)])


def sample_keys(dynamics):
    """Per sample of the dynamics: (doc id, start, end, its distant label or None for a non-entity span)."""
    labels = dynamics.labels + [None]
    n_labels = len(dynamics.labels)
    ids = dynamics.doc_ids
    return [(ids[d], int(s), int(e), labels[min(int(lab), n_labels)])
            for d, s, e, lab in zip(dynamics.doc, dynamics.start, dynamics.end, dynamics.label)]


def clean_corpus(dataset: str, base: Path, out: Path, config: str = "default", evidence: bool = True,
                 overrides: Dict[str, Any] = None, quiet: bool = False) -> Dict[str, Any]:
    """`clean` of a seed's runs (noisy dynamics, threshold run, held-out
    evidence when `evidence`) with a cleaning config and overrides; returns
    the report."""
    import io
    from contextlib import redirect_stdout

    from spacy_dynclean.cleaning.run import run_clean

    paths = {"paths.corpus": str(corpus(dataset, "train-ds")), "paths.dynamics": str(base / "dyn-noisy")}
    if (base / "dyn-threshold").exists():  # only the AUM detector reads it
        paths["paths.threshold_dynamics"] = str(base / "dyn-threshold")
    if evidence:
        paths["paths.heldout"] = str(base / "heldout.json")
    if (base / "folds" / "folds.npz").exists():
        paths["paths.folds"] = str(base / "folds")
    if quiet:
        with redirect_stdout(io.StringIO()):
            return run_clean(config, out, overrides={**paths, **(overrides or {})})
    return run_clean(config, out, overrides={**paths, **(overrides or {})})
