"""What cleaning in shards changes (issue 30: a corpus too large for one `clean`).

The README's way to clean a corpus larger than memory is shards of whole
documents, each cleaned on its own; every shard then counts its own corpus
statistics (word casing, majority labels, per-text decisions, the prior
entity rate). This bench measures what that costs: the distant training
corpus split at random into K shards (whole docs; K = 1 is the whole
corpus), each shard's dynamics the recorded run's rows of its docs (what a
recording of the shard would hold, without training it), each shard
cleaned with a preset, and the shards' cleaned docs together compared with
the whole corpus's: docs cleaned differently, and the train-label audit of
both (benchmark only: gold is read by the audit alone).

    OMP_NUM_THREADS=1 python bench/bench_shards.py --dataset conll03 --tag=-r5 --seeds 0,1,2 --shards 2,5,10
"""
import argparse
import io
import random
import shutil
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Dict, List

from bench_scale import tiled_dynamics
from common import WORK, corpus, save

from spacy_dynclean.cleaning.run import run_clean
from spacy_dynclean.convert import read_docbin, save_docbin
from spacy_dynclean.evaluation.audit import audit
from spacy_dynclean.recording.dynamics import Dynamics

AUDIT_KEYS = ("fp_precision", "fp_recall", "fn_precision", "fn_recall", "labels_f1_after", "labels_f1_all")


def clean_shard(docs: List, real: Dynamics, run: Path, preset: str, folder: Path) -> List:
    """The cleaned docs of one shard (its corpus and dynamics written into `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_docbin(docs, folder / "train.spacy")
    tiled_dynamics(real, docs).to_disk(folder / "dyn")
    overrides = {"paths.corpus": str(folder / "train.spacy"), "paths.dynamics": str(folder / "dyn")}
    if preset == "combined":
        overrides["paths.heldout"] = str(run / "heldout.json")
    with redirect_stdout(io.StringIO()):
        run_clean(preset, folder / f"out-{preset}.spacy", overrides=overrides)
    return read_docbin(folder / f"out-{preset}.spacy")


def by_id(docs: List) -> Dict[str, bytes]:
    return {d.user_data["dynclean_id"]: d.to_bytes() for d in docs}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="conll03")
    p.add_argument("--tag", default="-r5", help="the quality runs whose recordings are read (cnn{tag}/seedN)")
    p.add_argument("--seeds", default="0,1,2", help="recording seeds; each also seeds its split")
    p.add_argument("--shards", default="2,5,10")
    p.add_argument("--presets", default="goldfree,combined")
    args = p.parse_args()
    distant, gold = read_docbin(corpus(args.dataset, "train-ds")), read_docbin(corpus(args.dataset, "train-gs"))
    rows: List[Dict[str, Any]] = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        run = WORK / "quality" / args.dataset / f"cnn{args.tag}" / f"seed{seed}"
        real = Dynamics.from_disk(run / "dyn-noisy")
        for preset in args.presets.split(","):
            whole = None
            for k in [1] + [int(s) for s in args.shards.split(",")]:
                order = list(range(len(distant)))
                random.Random(seed).shuffle(order)
                work = WORK / "shards" / args.dataset / f"seed{seed}" / f"{preset}-k{k}"
                cleaned: List = []
                for i in range(k):
                    docs = [distant[j] for j in sorted(order[i::k])]
                    cleaned += clean_shard(docs, real, run, preset, work / f"shard{i}")
                shutil.rmtree(work)
                mine = by_id(cleaned)
                whole = whole if whole is not None else mine
                differ = sum(mine.get(d) != b for d, b in whole.items()) + len(set(mine) - set(whole))
                a = audit(distant, cleaned, gold)
                row = {"dataset": args.dataset, "seed": seed, "preset": preset, "shards": k,
                       "docs_per_shard": len(distant) // k, "docs_cleaned_otherwise": differ,
                       **{key: round(float(a[key]), 4) for key in AUDIT_KEYS},
                       "flagged_positives": a["flagged_positives"], "flagged_negatives": a["flagged_negatives"]}
                print(row, flush=True)
                rows.append(row)
    save(f"shards-{args.dataset}{args.tag}", {"dataset": args.dataset, "tag": args.tag, "rows": rows})


if __name__ == "__main__":
    main()
