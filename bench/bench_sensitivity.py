"""How sensitive is cleaning to its settings? Detection (audit against gold)
for the percentile of each kind and for k (epochs averaged), from the dynamics
alone, and for the held-out evidence's settings (with the evidence, as the
project's default), on the runs of bench_quality.py; with --retrain, also the test F1 of a model retrained on
each cleaned corpus (same config and seed).

    python bench/bench_sensitivity.py --dataset wiki --backbone cnn [--retrain | --retrain-only TAG,TAG]
"""
import argparse
import io
from contextlib import redirect_stdout

from bench_quality import evaluate, train
from common import WORK, corpus, save

from spacy_dynclean.audit import audit
from spacy_dynclean.clean import CleanSettings, run_clean
from spacy_dynclean.convert import read_docbin

GRID = (
    [("neg_percentile", v, CleanSettings(negative_percentile=v)) for v in (50, 75, 80, 85, 90, 95, 99)]
    + [("pos_percentile", v, CleanSettings(positive_percentile=v)) for v in (80, 90, 95, 99, 100)]
    + [("k", v, CleanSettings(k=v)) for v in (1, 2, 3, 5, None)]
)
# with the held-out evidence (base/heldout.json, written by bench_quality.py)
HELDOUT_GRID = (
    [("heldout_min_predicted", v, CleanSettings(heldout_min_predicted=v)) for v in (1, 2, 3)]
    + [("heldout_max_precision", v, CleanSettings(heldout_max_precision=v)) for v in (0.0, 0.25, 0.5)]
    + [("heldout_negatives", False, CleanSettings(heldout_negatives=False))]
    + [("heldout_neg_percentile", v, CleanSettings(negative_percentile=v)) for v in (50, 75, 90)]
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="wiki")
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--retrain", action="store_true", help="retrain on every setting's cleaned corpus")
    p.add_argument("--retrain-only", default="", help="comma-separated tags to retrain, e.g. neg_percentile-90")
    args = p.parse_args()
    base = WORK / "quality" / args.dataset / args.backbone.replace("/", "_") / f"seed{args.seed}"
    distant = read_docbin(corpus(args.dataset, "train-ds"))
    gold = read_docbin(corpus(args.dataset, "train-gs"))
    thr_dir = base / "dyn-threshold"
    rows = []
    print("| setting | value | flagged + | FP P/R | flagged - | FN P/R | label F1 after | test F1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    grid = [(n, v, st, False) for n, v, st in GRID] + [(n, v, st, True) for n, v, st in HELDOUT_GRID]
    for name, value, settings, with_evidence in grid:
        tag = f"{name}-{value}"
        out = base / "sensitivity" / f"{tag}.spacy"
        if name == "k" and value not in (1, None):
            thr_dir = base / "dyn-threshold-k"
            if not (thr_dir / "dynamics.npz").exists():
                train(args.backbone, base / "threshold-k", corpus(args.dataset, "train-ds"), args.dataset,
                      args.seed, 5, dynamics=thr_dir,
                      extra=["--components.dynclean_ner.threshold_samples", "true"])
        elif name == "k" and value is None:
            thr_dir = base / "dyn-threshold-all"
            if not (thr_dir / "dynamics.npz").exists():
                train(args.backbone, base / "threshold-all", corpus(args.dataset, "train-ds"), args.dataset,
                      args.seed, args.epochs, dynamics=thr_dir,
                      extra=["--components.dynclean_ner.threshold_samples", "true"])
        else:
            thr_dir = base / "dyn-threshold"
        with redirect_stdout(io.StringIO()):
            report = run_clean(corpus(args.dataset, "train-ds"), base / "dyn-noisy", out,
                               threshold_dir=thr_dir, settings=settings,
                               heldout_path=base / "heldout.json" if with_evidence else None)
        a = audit(distant, read_docbin(out), gold)
        row = {"setting": name, "value": value, "heldout": with_evidence,
               "flagged_positives": report["flagged_positives"],
               "flagged_negatives": report["flagged_negatives"], "thresholds": report["thresholds"],
               **{k: round(a[k], 3) for k in ("fp_precision", "fp_recall", "fn_precision", "fn_recall",
                                              "labels_f1_before", "labels_f1_after")}}
        if args.retrain or tag in args.retrain_only.split(","):
            train(args.backbone, base / "sensitivity" / tag, out, args.dataset, args.seed, args.epochs)
            row["test"] = evaluate(base / "sensitivity" / tag, args.dataset)
        rows.append(row)
        f1 = f"{row['test']['ents_f']:.3f}" if "test" in row else "-"
        print(f"| {name} | {value} | {row['flagged_positives']} | {row['fp_precision']:.2f}/{row['fp_recall']:.2f} | "
              f"{row['flagged_negatives']} | {row['fn_precision']:.2f}/{row['fn_recall']:.2f} | "
              f"{row['labels_f1_after']:.3f} | {f1} |", flush=True)
    save(f"sensitivity-{args.dataset}-{args.backbone.replace('/', '_')}", {
        "dataset": args.dataset, "backbone": args.backbone, "seed": args.seed, "rows": rows,
        "noisy_test": evaluate(base / "noisy", args.dataset),
    })


if __name__ == "__main__":
    main()
