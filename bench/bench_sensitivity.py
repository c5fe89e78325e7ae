"""How sensitive is cleaning to its settings? Detection (audit against gold)
for the percentile of each kind and for k (epochs averaged), from the dynamics
alone, and for the held-out evidence's settings (with the evidence, as the
project's default), on the runs of bench_quality.py; with --retrain, also the test F1 of a model retrained on
each cleaned corpus (same config and seed).

    python bench/bench_sensitivity.py --dataset wiki --backbone cnn [--retrain | --retrain-only TAG,TAG]

--settings picks rows by setting name (e.g. the fixes to try where cleaning
did not pay); --tag reads the runs of bench_quality.py made with that --tag.
"""
import argparse

from bench_quality import evaluate, heldout_evidence, train, train_docs, train_threshold
from common import WORK, clean_corpus, save

from spacy_dynclean.recording.storage import dynamics_file
from spacy_dynclean.evaluation.audit import audit
from spacy_dynclean.convert import read_docbin
from spacy_dynclean.recording.dynamics import Dynamics

DYNAMICS_ONLY = {"decision.positives": ["aum"], "decision.negatives": ["aum"]}
RELABEL = {"decision.strategy": {"@misc": "spacy-dynclean.relabel.v1"}}
# (setting, value, overrides of the default cleaning config); rows without the evidence use the dynamics alone
GRID = (
    [("neg_percentile", v, {"detectors.aum.negative_percentile": v}) for v in (50, 75, 80, 85, 90, 95, 99)]
    + [("pos_percentile", v, {"detectors.aum.positive_percentile": v}) for v in (80, 90, 95, 99, 100)]
    + [("k", v, {"detectors.aum.k": v or 0}) for v in (1, 2, 3, 5, None)]
)
# with the held-out evidence (base/heldout.json, written by bench_quality.py)
HELDOUT_GRID = (
    [("heldout_min_predicted", v, {"detectors.heldout.min_predicted": v}) for v in (1, 2, 3)]
    + [("heldout_max_precision", v, {"detectors.heldout.max_precision": v}) for v in (0.0, 0.25, 0.5)]
    + [("heldout_negatives", False, {"detectors.heldout.negatives": False})]
    + [("heldout_neg_percentile", v, {"detectors.aum.negative_percentile": v}) for v in (50, 75, 90)]
    # the fixes to try where cleaning does not pay: one kind only, relabel, other epochs averaged
    + [("heldout_clean_positives", False, {"decision.positives": []})]
    + [("heldout_clean_negatives", False, {"decision.negatives": []})]
    + [("heldout_strategy", "relabel", RELABEL)]
    + [("heldout_k", v, {"detectors.aum.k": v}) for v in (1, 3, 5, 10)]
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="wiki")
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--retrain", action="store_true", help="retrain on every setting's cleaned corpus")
    p.add_argument("--retrain-only", default="", help="comma-separated tags to retrain, e.g. neg_percentile-90")
    p.add_argument("--settings", default="", help="comma-separated setting names to run (default: all)")
    p.add_argument("--tag", default="", help="the --tag of the bench_quality.py runs, e.g. --tag=-e30")
    args = p.parse_args()
    base = WORK / "quality" / args.dataset / (args.backbone.replace("/", "_") + args.tag) / f"seed{args.seed}"
    heldout_evidence(base, args.dataset)
    distant, gold = train_docs(args.dataset, "train-ds"), train_docs(args.dataset, "train-gs")
    rows = []
    print("| setting | value | flagged + | FP P/R | flagged - | FN P/R | label F1 after | test F1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    grid = [(n, v, st, False) for n, v, st in GRID] + [(n, v, st, True) for n, v, st in HELDOUT_GRID]
    if args.settings:
        grid = [row for row in grid if row[0] in args.settings.split(",")]
    threshold_epochs = Dynamics.from_disk(base / "dyn-threshold").n_epochs
    for name, value, overrides, with_evidence in grid:
        tag = f"{name}-{value}"
        out = base / "sensitivity" / f"{tag}.spacy"
        # the first k epochs of the threshold run are all that k needs (the
        # schedule does not depend on max_epochs): a longer run is reused
        needed = (args.epochs if value is None else value) if name in ("k", "heldout_k") else 0
        thr_dir = base / "dyn-threshold"
        if needed > threshold_epochs:
            thr_dir = base / f"dyn-threshold-e{needed}"
            if not dynamics_file(thr_dir).exists():
                train_threshold(args.backbone, base, args.dataset, args.seed, needed, name=f"threshold-e{needed}")
        overrides = {**(DYNAMICS_ONLY if not with_evidence else {}), **overrides,
                     "paths.threshold_dynamics": str(thr_dir)}
        report = clean_corpus(args.dataset, base, out, "default", with_evidence, overrides, quiet=True)
        a = audit(distant, read_docbin(out), gold)
        row = {"setting": name, "value": value, "heldout": with_evidence,
               "flagged_positives": report["flagged_positives"],
               "flagged_negatives": report["flagged_negatives"],
               "thresholds": report["detectors"]["aum"]["thresholds"],
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
    seed = f"-seed{args.seed}" if args.seed else ""
    save(f"sensitivity-{args.dataset}-{args.backbone.replace('/', '_')}{args.tag}{seed}", {
        "dataset": args.dataset, "backbone": args.backbone, "seed": args.seed, "epochs": args.epochs, "rows": rows,
        "noisy_test": evaluate(base / "noisy", args.dataset),
    })


if __name__ == "__main__":
    main()
