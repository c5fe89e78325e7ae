"""Is the dev-set check (spacy_dynclean.evidence.dev_check) right on dev sets
whose labelling we know?

    python bench/bench_dev_check.py --datasets conll03,wiki,webpage,conll03-lc,wiki-lc,webpage-lc

The bench has no distantly labelled dev set, but it has distant and gold
labels of the same training sentences: per split seed, a random tenth of the
training docs stands in for a dev set, once with its distant labels (a dev
set labelled like the corpus: the check should warn) and once with its gold
labels (should not), the other nine tenths are the training corpus. The real
gold dev set against the whole training corpus is the third row (should not
warn). Saved as bench/results/dev-check.json.
"""
import argparse
import random
from collections import Counter
from typing import Any, Dict, List

from common import corpus, save

from spacy_dynclean.convert import read_docbin
from spacy_dynclean.evidence.dev_check import check_dev
from spacy_dynclean.evidence.heldout import FormEvidence
from spacy_dynclean.recording.samples import gold_spans

KEY = "sc"


def evidence_of(docs: List[Any]) -> FormEvidence:
    """Dev evidence with the dev docs' entities as its gold (no predictions: the check reads only the gold)."""
    ev = FormEvidence()
    for doc in docs:
        ev.add([], [(s.start, s.end, s.label_, s.text) for s in gold_spans(doc, KEY)])
    return ev


def row(kind: str, seed: Any, check: Any) -> Dict[str, Any]:
    return {"dev": kind, "split_seed": seed, "dev_novel": round(check.dev_novel, 3),
            "train_novel": round(check.train_novel, 3), "dev_entities": check.dev_entities,
            "warns": {True: "yes", False: "no", None: "too few"}[check.looks_distant]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="conll03,wiki,webpage,conll03-lc,wiki-lc,webpage-lc")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--margin", type=float, default=0.1)
    args = ap.parse_args()
    out: Dict[str, List[Dict[str, Any]]] = {}
    for dataset in args.datasets.split(","):
        distant, gold = read_docbin(corpus(dataset, "train-ds")), read_docbin(corpus(dataset, "train-gs"))
        rows = []
        for seed in (int(s) for s in args.seeds.split(",")):
            order = list(range(len(distant)))
            random.Random(seed).shuffle(order)
            dev = set(order[: len(order) // 10])
            train = [d for i, d in enumerate(distant) if i not in dev]
            for kind, docs in (("train tenth, distant labels", distant), ("train tenth, gold labels", gold)):
                picked = [docs[i] for i in sorted(dev)]
                rows.append(row(kind, seed, check_dev(evidence_of(picked), train, KEY, args.margin)))
        rows.append(row("dev set (gold)", None, check_dev(evidence_of(read_docbin(corpus(dataset, "dev"))),
                                                           distant, KEY, args.margin)))
        out[dataset] = rows
        for r in rows:
            print(f"{dataset:11} {r['dev']:28} seed {r['split_seed']}: dev novel {r['dev_novel']:.3f} "
                  f"(n {r['dev_entities']}), train tenth {r['train_novel']:.3f}, warns: {r['warns']}", flush=True)
    counts = Counter((r["dev"], r["warns"]) for rows in out.values() for r in rows)
    print({f"{k[0]} warns={k[1]}": v for k, v in sorted(counts.items())})
    save("dev-check", {"margin": args.margin, "datasets": out,
                       "summary": {f"{k[0]} warns={k[1]}": v for k, v in sorted(counts.items())}})


if __name__ == "__main__":
    main()
