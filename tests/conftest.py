import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "dsner"


def dataset_dir(name: str) -> Path:
    path = SHARED_DATA / name
    if not (path / "train-ds.json").exists():
        pytest.skip(f"DS-NER data not found at {path} (needs ../shared beside the repo)")
    return path


@pytest.fixture
def webpage_dir() -> Path:
    return dataset_dir("webpage")


@pytest.fixture
def wiki_dir() -> Path:
    return dataset_dir("wiki")


TRAIN_RECORDS = [
    {"tokens": ["Alice", "lives", "in", "Paris", "."], "entities": [[0, 0, "PER"], [3, 3, "LOC"]]},
    {"tokens": ["Bob", "works", "at", "Acme", "Corp", "in", "Berlin", "."],
     "entities": [[0, 0, "PER"], [3, 4, "ORG"], [6, 6, "LOC"]]},
    {"tokens": ["Carol", "visited", "London", "."], "entities": [[0, 0, "PER"], [2, 2, "LOC"]]},
    {"tokens": ["Acme", "Corp", "hired", "Dave", "."], "entities": [[0, 1, "ORG"], [3, 3, "PER"]]},
]
