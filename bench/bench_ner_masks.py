"""How should the stock `ner` see a corrected corpus's masks? A masked span
is one excluded candidate for the span component; for spaCy's `ner` its
tokens are missing in `doc.ents`. Three ways of giving the `ner` the same
corpus, each against its noisy run, beside the span component:

- `<variant>_ner`: masked tokens missing (what `clean` writes; bench_quality's run);
- `<variant>_nerneg`: missing, plus the augmenter `spacy-dynclean.masks_as_negatives.v1`
  (every other span over a mask as an incorrect span, `incorrect_spans_key`);
- `<variant>_O_ner`: every missing token set to non-entity;
- `<variant>_st_ner`: the masks filled by the self-training round (bench_quality's run),
  and "dev-selected": per seed, the self-trained student only where its dev F1
  is higher than the masked run's;
- `<variant>_fe_ner`: the round with `fill --keep-masked`: the teacher (the span
  component retrained on the corpus) only adds its entities inside masks, the rest
  stays masked.

Run bench_quality first (it makes the corpora and the runs this reuses):

    python bench/bench_ner_masks.py --dataset wiki --epochs 10 --seeds 0,1,2 --tag=-r3

Results: bench/results/ner-masks-<dataset>-cnn<tag>.json.
"""
import argparse
import json
import statistics
from pathlib import Path
from typing import Dict, List, Optional

from bench_quality import evaluate, fill_corpus, train, trained
from common import ROOT, WORK, save

from spacy_dynclean.convert import read_docbin, save_docbin

AUGMENTER = """
[corpora.train.augmenter]
@augmenters = "spacy-dynclean.masks_as_negatives.v1"
component = "ner"
ignore_key = "dynclean_ignored"
incorrect_key = "dynclean_incorrect"
max_length = 8
"""


def masks_config_dir(backbone: str) -> Path:
    """A config folder whose `<backbone>_ner.cfg` is the project's with the
    augmenter on the training corpus and the `ner` reading its span group."""
    src = ROOT / "configs" / f"{backbone}_ner.cfg"
    text = src.read_text()
    assert 'incorrect_spans_key = null' in text and "[corpora.dev]" in text, src
    text = text.replace('incorrect_spans_key = null', 'incorrect_spans_key = "dynclean_incorrect"')
    text = text.replace("[corpora.dev]", AUGMENTER.lstrip() + "\n[corpora.dev]")
    out = WORK / "ner-masks-configs"
    out.mkdir(parents=True, exist_ok=True)
    (out / src.name).write_text(text)
    return out


def unmasked_corpus(src: Path, out: Path) -> None:
    """`src` with every missing token set to non-entity, written once."""
    if out.exists():
        return
    docs = read_docbin(src)
    n_missing = sum(t.ent_iob_ == "" for doc in docs for t in doc)
    for doc in docs:
        doc.set_ents(list(doc.ents), default="outside")
    print(f"{out.name}: {n_missing:,} missing tokens set to non-entity")
    save_docbin(docs, out, [src])


def scores(run: Path, dataset: str) -> Optional[Dict[str, float]]:
    """Dev F1 of the kept pipeline and test F1 of a finished run, else None."""
    if not trained(run):
        return None
    dev = json.loads((run / "model-best" / "meta.json").read_text())["performance"]["ents_f"]
    return {"dev_f": round(float(dev), 4), "test_f": evaluate(run, dataset)["ents_f"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--variant", default="combined4")
    p.add_argument("--tag", default="")
    args = p.parse_args()
    v = args.variant
    config_dir = masks_config_dir(args.backbone)
    names = ["noisy_ner", f"{v}_ner", f"{v}_nerneg", f"{v}_O_ner", f"{v}_st_ner", f"{v}_fe_ner", "gold_ner", "noisy",
             v]
    table: Dict[str, List[Optional[Dict[str, float]]]] = {n: [] for n in names + ["dev_selected_ner"]}
    for seed in [int(s) for s in args.seeds.split(",")]:
        base = WORK / "quality" / args.dataset / f"{args.backbone}{args.tag}" / f"seed{seed}"
        corrected = base / f"train-{v}.spacy"
        if not corrected.exists() or not trained(base / f"{v}_ner"):
            raise SystemExit(f"{base}: no {v} corpus or stock-ner run; run bench_quality with --variants {v} first")
        train(args.backbone, base / f"{v}_nerneg", corrected, args.dataset, seed, args.epochs, component="ner",
              extra=["--config-dir", str(config_dir)])
        unmasked_corpus(corrected, base / f"train-{v}_O.spacy")
        train(args.backbone, base / f"{v}_O_ner", base / f"train-{v}_O.spacy", args.dataset, seed, args.epochs,
              component="ner")
        train(args.backbone, base / f"{v}_fe_ner", fill_corpus(base, f"{v}_fe"), args.dataset, seed, args.epochs,
              component="ner")
        for name in names:
            table[name].append(scores(base / name, args.dataset))
        masked, student = table[f"{v}_ner"][-1], table[f"{v}_st_ner"][-1]
        pick = student if masked and student and student["dev_f"] > masked["dev_f"] else masked
        table["dev_selected_ner"].append(pick)
    print(f"{args.dataset}, seeds {args.seeds}: test F1 per seed (dev F1), mean ± sd")
    summary: Dict[str, Dict[str, float]] = {}
    for name, runs in table.items():
        done = [r for r in runs if r is not None]
        if not done:
            continue
        tests = [r["test_f"] for r in done]
        summary[name] = {"mean": round(statistics.mean(tests), 4),
                         "sd": round(statistics.stdev(tests), 4) if len(tests) > 1 else 0.0, "n": len(tests)}
        cells = " ".join(f"{r['test_f']:.3f} ({r['dev_f']:.3f})" if r else "-" for r in runs)
        print(f"{name:18s} {summary[name]['mean']:.3f} ± {summary[name]['sd']:.3f}   {cells}")
    save(f"ner-masks-{args.dataset}-{args.backbone}{args.tag}",
         {"dataset": args.dataset, "seeds": args.seeds, "epochs": args.epochs, "variant": v, "runs": table,
          "summary": summary})


if __name__ == "__main__":
    main()
