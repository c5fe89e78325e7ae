"""What is a person's review worth? A simulated reviewer decides the top N
groups of `review` (the gold-free config) from the gold train labels (what
the majority of a group's occurrences are in gold: keep the distant label,
accept the suggestion, relabel, or make them non-entities); `apply-review`
writes the corpus (undecided groups follow the automatic decision), which is
audited and retrained (same config and seed as bench_quality.py).

    python bench/bench_review.py --dataset wiki --seeds 0,1,2 --n 25,50,100,200 --retrain-n 100

Gold is used here to simulate the person, never by `review` or `apply-review`.
"""
import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Dict, Optional

from bench_quality import audit_corpus, evaluate, train, train_docs
from common import WORK, corpus, save

from spacy_dynclean.review.groups import Group
from spacy_dynclean.review.run import apply_review, run_review


def gold_decision(group: Group, gold: Dict[str, Dict[tuple, str]]) -> str:
    """What the gold labels say about most of a group's occurrences."""
    votes: Counter = Counter()
    suggested = group.action.split(":", 1)[1] if ":" in group.action else None
    for doc_id, s, e, ss, se in group.occurrences:
        ents = gold[doc_id]
        if group.kind == "positive" and ents.get((s, e)) == group.label:
            votes["reject"] += 1  # the distant label was right
        elif (ss, se) in ents:
            label = ents[(ss, se)]
            votes["accept" if label == suggested else f"relabel:{label}"] += 1
        elif group.kind == "positive" and (s, e) in ents:
            votes[f"relabel:{ents[(s, e)]}"] += 1
        elif not any(a < se and ss < b for a, b in ents):
            votes["accept" if group.action == "remove" else "remove"] += 1
        else:
            votes["reject" if group.kind == "positive" else "remove"] += 1  # gold has another span: leave it
    return votes.most_common(1)[0][0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="wiki")
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seeds", default="0")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--config", default="goldfree", help="cleaning config reviewed (a preset name or a path)")
    p.add_argument("--n", default="25,50,100,200", help="numbers of top groups the simulated person decides")
    p.add_argument("--retrain-n", default="100", help="N whose corpora are retrained (comma-separated, or all)")
    p.add_argument("--curve-seeds", default="0", help="seeds whose corpora are retrained for every N")
    args = p.parse_args()
    ns = [int(x) for x in args.n.split(",")]
    retrain_n = ns if args.retrain_n == "all" else [int(x) for x in args.retrain_n.split(",") if x]
    gold_docs = {d.user_data["dynclean_id"]: {(e.start, e.end): e.label_ for e in d.ents}
                 for d in train_docs(args.dataset, "train-gs")}
    runs = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        base = WORK / "quality" / args.dataset / args.backbone / f"seed{seed}"
        review_dir = base / f"review-{Path(args.config).stem}"
        start = time.time()
        if not (review_dir / "groups.json").exists():
            run_review(args.config, review_dir, overrides={"paths.corpus": str(corpus(args.dataset, "train-ds"))},
                       max_groups=max(ns))
        review_seconds = round(time.time() - start, 1)
        data = json.loads((review_dir / "groups.json").read_text())
        groups = [Group(**g) for g in data["groups"]]
        row: Dict[str, object] = {"seed": seed, "groups": len(groups), "review_seconds": review_seconds,
                                  "occurrences": sum(len(g.occurrences) for g in groups), "points": []}
        for n in [0] + ns:
            out = base / f"train-review{n}.spacy"
            decisions = review_dir / f"gold-top{n}.csv"
            chosen = {g.id: gold_decision(g, gold_docs) for g in groups[:n]}
            decisions.write_text("group,decision\n" + "".join(f"{gid},{d}\n" for gid, d in chosen.items()))
            if not out.exists():
                apply_review(corpus(args.dataset, "train-ds"), decisions, out, groups_path=review_dir / "groups.json")
            point = {"n": n, "decided_occurrences": sum(len(g.occurrences) for g in groups[:n]),
                     "decisions": dict(Counter(d.split(":")[0] for d in chosen.values())),
                     "audit": audit_corpus(args.dataset, out)}
            if n in retrain_n or str(seed) in args.curve_seeds.split(",") or n == 0 and retrain_n:
                # no decision is the automatic cleaning: bench_quality's goldfree training when there is one
                model = base / "goldfree" if n == 0 and (base / "goldfree" / "model-best").exists() \
                    else base / f"review{n}"
                if model.name != "goldfree":
                    train(args.backbone, model, out, args.dataset, seed, args.epochs)
                point["test"] = evaluate(model, args.dataset)
            row["points"].append(point)
            f1 = point.get("test", {}).get("ents_f")
            print(f"seed {seed} N={n}: {point['decided_occurrences']} occurrences decided, label F1 (all tokens) "
                  f"{point['audit']['labels_f1_all']:.3f}" + (f", test F1 {f1:.3f}" if f1 is not None else ""),
                  flush=True)
        row["noisy_test"] = evaluate(base / "noisy", args.dataset) if (base / "noisy" / "model-best").exists() \
            else None
        runs.append(row)
    curve: Dict[int, Dict[str, Optional[float]]] = {}
    for n in [0] + ns:
        pts = [pt for r in runs for pt in r["points"] if pt["n"] == n]
        tests = [pt["test"]["ents_f"] for pt in pts if "test" in pt]
        curve[n] = {"labels_f1_all": round(statistics.mean(pt["audit"]["labels_f1_all"] for pt in pts), 4),
                    "test_f1": round(statistics.mean(tests), 4) if tests else None,
                    "test_f1_sd": round(statistics.stdev(tests), 4) if len(tests) > 1 else None,
                    "seeds_tested": len(tests)}
    save(f"review-{args.dataset}-{args.backbone}", {"dataset": args.dataset, "backbone": args.backbone,
                                                     "epochs": args.epochs, "config": args.config, "runs": runs,
                                                     "curve": {str(k): v for k, v in curve.items()}})


if __name__ == "__main__":
    main()
