"""Cost of recording dynamics: training words/s with recording off, in
"update" mode and in "epoch" mode, same config and data, in one run; and the
dynamics folder's size. `--size N`: the training corpus repeated N times and
shuffled (bench_scale.repeated_docs), to see whether the overhead grows with
the corpus (issue 30 asks it unchanged from 1x to 10x).

    python bench/bench_recording.py --dataset webpage --config cnn --epochs 5
    python bench/bench_recording.py --dataset webpage --epochs 2 --repeats 2 --size 10
"""
import argparse
import io
import time
from pathlib import Path

from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.util import load_config

from bench_scale import repeated_docs
from common import ROOT, WORK, corpus, save

from spacy_dynclean import Dynamics
from spacy_dynclean.convert import read_docbin, save_docbin


def train_corpus(dataset: str, size: int) -> Path:
    """The training DocBin, repeated `size` times (written once into bench/work/scale/)."""
    if size == 1:
        return corpus(dataset, "train-ds")
    out = WORK / "scale" / dataset / f"x{size}" / "train-ds.spacy"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        save_docbin(repeated_docs(read_docbin(corpus(dataset, "train-ds")), size), out)
    return out


def run(config_name: str, dataset: str, epochs: int, mode: str, dyn_dir, size: int = 1) -> dict:
    overrides = {
        "paths.train": str(train_corpus(dataset, size)),
        "paths.dev": str(corpus(dataset, "dev")),
        "paths.dynamics": str(dyn_dir) if mode != "off" else None,
        "training.max_epochs": epochs,
        "training.eval_frequency": 100000,  # evaluate once: time the training itself
        "components.dynclean_ner.dynamics_mode": "update" if mode == "off" else mode,
    }
    config = load_config(ROOT / "configs" / f"{config_name}.cfg", overrides=overrides, interpolate=False)
    nlp = init_nlp(config)
    start = time.perf_counter()
    train(nlp, None, stdout=io.StringIO(), stderr=io.StringIO())
    seconds = time.perf_counter() - start
    ner = nlp.get_pipe("dynclean_ner")
    words = int(ner.index.doc_lengths.sum()) * epochs if ner.index is not None else 0
    row = {"mode": mode, "seconds": round(seconds, 2), "words_per_s": round(words / seconds, 1)}
    if mode != "off":
        row["dynamics_bytes"] = sum(f.stat().st_size for f in dyn_dir.iterdir())
        row["samples"] = len(Dynamics.from_disk(dyn_dir))
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="webpage")
    p.add_argument("--config", default="cnn")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--modes", default="off,update,epoch")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    p.add_argument("--size", type=int, default=1, help="the training corpus repeated this many times")
    args = p.parse_args()
    modes = args.modes.split(",")
    runs: dict = {m: [] for m in modes}
    for repeat in range(args.repeats):
        for mode in modes:
            dyn_dir = WORK / "dynamics" / f"{args.dataset}-{args.config}-{mode}-x{args.size}"
            row = run(args.config, args.dataset, args.epochs, mode, dyn_dir, args.size)
            runs[mode].append(row)
            print(repeat, row, flush=True)
    rows = []
    for mode in modes:
        ordered = sorted(runs[mode], key=lambda r: r["seconds"])
        median = dict(ordered[len(ordered) // 2])
        median["all_seconds"] = [r["seconds"] for r in runs[mode]]
        rows.append(median)
    base = next((r for r in rows if r["mode"] == "off"), None)
    print(f"\n{args.dataset} x{args.size} / {args.config} / {args.epochs} epochs / median of {args.repeats}")
    print("| recording | seconds | words/s | vs off | dynamics file |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        ratio = f"{r['seconds'] / base['seconds']:.3f}" if base else "-"
        size = f"{r['dynamics_bytes'] / 1e6:.1f} MB" if "dynamics_bytes" in r else "-"
        print(f"| {r['mode']} | {r['seconds']} | {r['words_per_s']} | {ratio} | {size} |")
    suffix = f"-x{args.size}" if args.size > 1 else ""
    save(f"recording-{args.dataset}{suffix}-{args.config}", {"dataset": args.dataset, "config": args.config,
                                                             "size": args.size, "epochs": args.epochs, "runs": rows})


if __name__ == "__main__":
    main()
