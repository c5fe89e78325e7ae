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


def corpus(dataset: str, split: str) -> Path:
    """DocBin of a split, converted once into bench/work/."""
    from spacy_dynclean.convert import convert

    out = WORK / "corpus" / dataset / f"{split}.spacy"
    if not out.exists():
        src = DATA / dataset / f"{split}.json"
        if not src.exists():
            raise SystemExit(f"{src} not found: set DSNER_DATA to the DS-NER data folder")
        convert(src, out)
    return out


def machine() -> Dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def save(name: str, data: Dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n", encoding="utf8")
    print(f"saved {path}")
    return path
