"""Make the small recorded run that tests/test_config.py compares against
(run once; its outputs are committed): a synthetic distantly labelled corpus
with the usual distant errors (a common word labelled MISC, a partial match
"York" PER inside "New York", missed entities), a gold dev set, two 3-epoch
CNN trainings (plain and with threshold samples) and the held-out evidence.

    python tests/data/make_recorded.py

The expected outputs of `clean` were written by the 0.1 command line
(`clean CORPUS DYN OUT -t THR [--heldout H]`, default options) before the
cleaning config replaced it; `expected.json` holds their sha256 and flags.
"""
import json
import random
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent / "recorded"
ROOT = Path(__file__).resolve().parent.parent.parent

PEOPLE = ["Anna Berg", "Tom Hale", "Maria Lopez", "Kenji Sato", "Olga Ivanova", "Peter Novak", "Lena Fischer"]
PLACES = ["Paris", "Berlin", "Madrid", "Tokyo", "Oslo", "New York", "Cairo", "Lima"]
ORGS = ["Acme Corp", "Globex", "Initech", "Umbrella Group", "Stark Industries"]
TEMPLATES = [
    ("{p} flew to {l} on Monday .", "p", "l"),
    ("The board of {o} met in {l} .", "o", "l"),
    ("{p} joined {o} last year .", "p", "o"),
    ("In {l} , {p} spoke about {o} .", "l", "p", "o"),
    ("The talks between {o} and {o2} ended .", "o", "o2"),
    ("{p} said the weather in {l} was fine .", "p", "l"),
]


def sentence(rng, template):
    text, *kinds = template
    values = {"p": rng.choice(PEOPLE), "l": rng.choice(PLACES), "o": rng.choice(ORGS)}
    values["o2"] = rng.choice([o for o in ORGS if o != values["o"]])
    label_of = {"p": "PER", "l": "LOC", "o": "ORG", "o2": "ORG"}
    tokens, gold, distant = [], [], []
    for word in text.split():
        if word.startswith("{"):
            key = word[1:-1]
            value = values[key].split()
            start = len(tokens)
            tokens += value
            gold.append([start, len(tokens) - 1, label_of[key]])
            if value == ["New", "York"]:
                distant.append([start + 1, start + 1, "PER"])  # partial match, wrong type
            elif rng.random() < 0.15:
                pass  # missed by the gazetteer
            else:
                distant.append([start, len(tokens) - 1, label_of[key]])
        else:
            if word == "The" and not tokens:
                distant.append([0, 0, "MISC"])  # a common word in the gazetteer
            tokens.append(word)
    return {"tokens": tokens, "entities": distant}, {"tokens": tokens, "entities": gold}


def corpus(rng, n):
    pairs = [sentence(rng, rng.choice(TEMPLATES)) for _ in range(n)]
    return [d for d, _ in pairs], [g for _, g in pairs]


def run(*args):
    subprocess.run([sys.executable, *map(str, args)], check=True, cwd=ROOT)


def main():
    rng = random.Random(7)
    HERE.mkdir(parents=True, exist_ok=True)
    train_ds, train_gs = corpus(rng, 60)
    _, dev = corpus(rng, 20)
    for name, data in (("train-ds", train_ds), ("train-gs", train_gs), ("dev", dev)):
        (HERE / f"{name}.json").write_text(json.dumps(data), encoding="utf8")
        run("-m", "spacy_dynclean", "convert", HERE / f"{name}.json", HERE / f"{name}.spacy")
    common = ["--paths.train", HERE / "train-ds.spacy", "--paths.dev", HERE / "dev.spacy",
              "--training.max_epochs", "3", "--training.eval_frequency", "10", "--system.seed", "0"]
    run("-m", "spacy", "train", ROOT / "configs" / "cnn.cfg", "-o", HERE / "noisy", "--paths.dynamics",
        HERE / "dyn", *common)
    run("-m", "spacy", "train", ROOT / "configs" / "cnn.cfg", "-o", HERE / "threshold", "--paths.dynamics",
        HERE / "thr", "--components.dynclean_ner.threshold_samples", "true", *common)
    run("-m", "spacy_dynclean", "heldout", HERE / "noisy" / "model-best", HERE / "dev.spacy", HERE / "heldout.json")


if __name__ == "__main__":
    main()
