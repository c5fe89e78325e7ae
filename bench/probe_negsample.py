"""Probe: the span component retrained with negative sampling (random fraction of the
non-entity spans per batch) on the distant corpus and on a cleaned corpus of the same seed.
    python bench/probe_negsample.py DATASET SEED VARIANT FRACTION [EPOCHS]
VARIANT: noisy (train-ds) or a cleaned corpus train-VARIANT.spacy in the seed's -r4 folder."""
import json
import sys

from bench_quality import evaluate, train
from common import RESULTS, WORK, corpus

ds, seed, variant, frac = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
epochs = int(sys.argv[5]) if len(sys.argv) > 5 else (5 if ds.startswith("conll03") else 10)
base = WORK / "quality" / ds / "cnn-r4" / f"seed{seed}"
src = corpus(ds, "train-ds") if variant == "noisy" else base / f"train-{variant}.spacy"
mode = "all" if frac >= 1.0 else "random"
out = base / f"{variant}-ns{int(round(frac * 100)):02d}"
extra = ["--components.dynclean_ner.negative_sampling", mode,
         "--components.dynclean_ner.negative_fraction", str(frac)]
train("cnn", out, src, ds, seed, epochs, extra=extra)
row = json.dumps({"dataset": ds, "seed": seed, "variant": variant, "fraction": frac, **evaluate(out, ds)})
print(row)
with (RESULTS / "probe-negsample.jsonl").open("a") as f:
    f.write(row + "\n")
