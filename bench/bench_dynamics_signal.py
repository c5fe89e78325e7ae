"""How much do the recorded dynamics see, epoch by epoch? For a seed's
recording run (bench_quality.py), the AUROC of the entity probability over
the first k epochs against "is a missed entity" among the non-entity spans
that overlap no distant entity, and of the distant entity's own probability
(low: suspect) against "is wrong" among the distant entities; gold train
labels are read here only to score (never by `clean`).

    python bench/bench_dynamics_signal.py --dataset wiki-lc --tag=-r4
"""
import argparse
from typing import Dict

import numpy
from common import WORK, corpus, save, wrong_labels

from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.cleaning.detectors.learned import entity_probability
from spacy_dynclean.recording.samples import overlaps_positive
from spacy_dynclean.evidence.scores import auto_k


def auroc(score: numpy.ndarray, truth: numpy.ndarray) -> float:
    """Probability that a true sample outranks a false one (ties count half)."""
    order = numpy.argsort(score, kind="stable")
    ranks = numpy.empty(len(score))
    ranks[order] = numpy.arange(1, len(score) + 1)
    # average ranks of ties
    _, inverse, counts = numpy.unique(score, return_inverse=True, return_counts=True)
    sums = numpy.zeros(len(counts))
    numpy.add.at(sums, inverse, ranks)
    ranks = (sums / counts)[inverse]
    n1 = int(truth.sum())
    n0 = len(truth) - n1
    if not n1 or not n0:
        return float("nan")
    return float((ranks[truth].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="wiki")
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="")
    args = p.parse_args()
    base = WORK / "quality" / args.dataset / (args.backbone.replace("/", "_") + args.tag) / f"seed{args.seed}"
    ev = Evidence.load({"corpus": str(corpus(args.dataset, "train-ds")), "dynamics": str(base / "dyn-noisy")})
    dyn = ev.samples
    wrong = wrong_labels(dyn, args.dataset)
    pool = dyn.candidates & ~dyn.positive & ~overlaps_positive(dyn.doc, dyn.start, dyn.end, dyn.positive)
    pos = dyn.candidates & dyn.positive
    rows: Dict[str, Dict[str, float]] = {}
    for k in range(1, dyn.n_epochs + 1):
        p_entity = entity_probability(dyn, k)
        own = dyn.probs[:, :k].astype("float32").mean(axis=1)
        rows[str(k)] = {"missed_auroc": round(auroc(p_entity[pool], wrong[pool]), 3),
                        "wrong_positive_auroc": round(auroc(-own[pos], wrong[pos]), 3)}
    k_auto = auto_k(dyn)
    print(f"{args.dataset} / {args.backbone} seed {args.seed}: {int((wrong & pool).sum())} missed entities among "
          f"{int(pool.sum()):,} free non-entity spans, {int((wrong & pos).sum())} wrong of {int(pos.sum())} distant "
          f"entities; k auto = {k_auto}")
    print("| k | AUROC, missed entities | AUROC, wrong distant entities |")
    print("| --- | --- | --- |")
    for k, r in rows.items():
        print(f"| {k}{' (auto)' if int(k) == k_auto else ''} | {r['missed_auroc']:.3f} | {r['wrong_positive_auroc']:.3f} |")
    save(f"dynamics-signal-{args.dataset}-{args.backbone.replace('/', '_')}{args.tag}", {
        "dataset": args.dataset, "backbone": args.backbone, "seed": args.seed, "tag": args.tag, "k_auto": k_auto,
        "missed": int((wrong & pool).sum()), "pool": int(pool.sum()), "wrong_positives": int((wrong & pos).sum()),
        "positives": int(pos.sum()), "by_k": rows,
    })


if __name__ == "__main__":
    main()
