"""How `clean`, `review` and `audit` grow with the corpus (issue 30's scale bench).

conll03's distant training corpus repeated N times and shuffled (each copy's
docs re-identified: ``ID-xC``), with dynamics of the recorded shape: the
recorded run's rows tiled per doc (what a recording of the same sentences
would hold, without training N times). Each stage runs as its own process
under ``/usr/bin/time``; one row per size and stage (`size`, `stage`,
`peak_rss_mb`, `seconds`, `cpu_seconds`) is saved to ``bench/results/scale-DATASET.json``
and a plot beside it. Benchmark only: gold labels are read by `audit` alone.

The `-batches` stages clean and review with ``--evidence.batch_size``
(`BATCH_SIZE` docs a batch); where the stage in memory ran too, the row says
whether both wrote the same (`same_as_in_memory`). `--audit-sizes` measures
`audit` alone on larger sizes (50, 100): the three corpora are written one
doc at a time (`Repeated`), and the cleaned one is 1x's `clean` (goldfree)
repeated the same way, a valid cleaned corpus of the repeated one for the
audit's checks. `--stages` picks the stages run at `--sizes`; `--merge` keeps
the saved rows of the sizes and stages not rerun.

    OMP_NUM_THREADS=1 python bench/bench_scale.py --dataset conll03 --sizes 1,2,5,10
    OMP_NUM_THREADS=1 python bench/bench_scale.py --sizes "" --audit-sizes 50,100 --merge
    OMP_NUM_THREADS=1 python bench/bench_scale.py --sizes 50,100 --merge \
        --stages clean-goldfree-batches,clean-combined-batches,review-batches
"""
import argparse
import fcntl
import filecmp
import hashlib
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy

from common import RESULTS, WORK, corpus, save

from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.recording.dynamics import FORMAT_VERSION, Dynamics
from spacy_dynclean.recording.samples import FLAG_POSITIVE, FLAG_THRESHOLD, gold_spans
from spacy_dynclean.recording.storage import EPOCH_ARRAYS, SAMPLE_ARRAYS, dynamics_file

STAGES = ("clean-goldfree", "clean-combined", "clean-default", "clean-goldfree-batches", "clean-combined-batches",
          "clean-default-batches", "review", "review-batches", "audit")
#: docs per batch of the `-batches` stages (`[evidence] batch_size`)
BATCH_SIZE = 20000


class Repeated(Sequence):
    """`docs` repeated `size` times and shuffled, made one doc at a time:
    copy `c` of doc `i` at the position a seeded shuffle gives it, its id
    made unique (``ID-xC``; with size 1 the docs themselves); `only`: the
    ids of `docs` to keep, by id (a cleaned corpus lacks its dropped docs),
    in the same order."""

    def __init__(self, docs: List, size: int, seed: int = 0, only: Optional[Dict[str, object]] = None) -> None:
        order = list(range(size * len(docs)))
        random.Random(seed).shuffle(order)
        self.ids = [d.user_data["dynclean_id"] for d in docs]
        self.docs, self.only, self.size, self.n = docs, only, size, len(docs)
        self.order = [k for k in order if only is None or self.ids[k % self.n] in only]

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, k):  # type: ignore[override]
        c, i = divmod(self.order[k], self.n)
        doc = self.docs[i] if self.only is None else self.only[self.ids[i]]
        if self.size == 1:
            return doc
        new = doc.copy()
        new.user_data["dynclean_id"] = f"{self.ids[i]}-x{c}"
        return new


def repeated_docs(docs: List, size: int, seed: int = 0) -> List:
    """`docs` repeated `size` times, shuffled, each copy's ids made unique (`Repeated`, in a list)."""
    return list(Repeated(docs, size, seed))


def build_for_audit(dataset: str, size: int) -> Path:
    """The size's distant, gold and cleaned corpora for `audit` alone (see the module docstring)."""
    folder = WORK / "scale" / dataset / f"x{size}"
    if (folder / "out-goldfree.spacy").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    distant = read_docbin(corpus(dataset, "train-ds"))
    write_repeated(dataset, size, folder)
    cleaned = {d.user_data["dynclean_id"]: d for d in read_docbin(WORK / "scale" / dataset / "x1" / "out-goldfree.spacy")}
    tmp = folder / "out-goldfree.tmp.spacy"
    write_docbin(Repeated(distant, size, only=cleaned), tmp)
    tmp.replace(folder / "out-goldfree.spacy")
    return folder


def tiled_dynamics(real: Dynamics, size: int, docs: List) -> Dynamics:
    """Dynamics of `docs` repeated `size` times (`Repeated`'s ids): every
    copy's rows are its original's. Built from the ids alone (the copies are
    never held: at 100x they would not fit), the fingerprint as
    `corpus_fingerprint` of the repeated corpus would make it."""
    ids = list(real.doc_ids)
    n = len(ids)
    new_ids = ids if size == 1 else [f"{d}-x{c}" for c in range(size) for d in ids]
    order = numpy.array(sorted(range(len(new_ids)), key=new_ids.__getitem__), dtype="int64")
    source = order % n
    counts = numpy.diff(numpy.append(real.doc_bases, len(real)))
    per = counts[source]
    rows = numpy.repeat(real.doc_bases[source] - numpy.concatenate([[0], numpy.cumsum(per)[:-1]]), per)
    rows += numpy.arange(int(per.sum()), dtype="int64")
    arrays = {name: numpy.asarray(getattr(real, name))[rows] for name in SAMPLE_ARRAYS}
    arrays["doc"] = numpy.repeat(numpy.arange(len(order), dtype=real.doc.dtype), per)
    for name in EPOCH_ARRAYS:
        arrays[name] = numpy.asarray(getattr(real, name))[rows]
    by_id = {d.user_data["dynclean_id"]: d for d in docs}
    items = {}
    for did in ids:
        doc = by_id[did]
        ents = sorted((s.start, s.end, s.label_) for s in gold_spans(doc, real.spans_key))
        items[did] = ([t.text for t in doc], ents, sorted((s.start, s.end) for s in doc.spans.get(real.ignore_key, [])))
    h = hashlib.sha1()
    for k in order.tolist():
        h.update(repr((new_ids[k], *items[ids[k % n]])).encode("utf8"))
    meta = {**real.meta, "format_version": FORMAT_VERSION, "doc_ids": [new_ids[k] for k in order.tolist()],
            "fingerprint": h.hexdigest(),
            "n_samples": len(rows), "gold_spans_too_long": int(real.meta.get("gold_spans_too_long", 0)) * size}
    return Dynamics(meta, arrays)


def synthetic_threshold(folder: Path) -> Path:
    """A threshold run of the recorded shape beside `folder/dyn` (the default
    preset's AUM thresholds read one; the recorded conll03 run has none):
    every n_labels-th distant entity and as many evenly spread non-entity
    spans are threshold samples of the fake class, with the margin a class
    the model never predicts gets (-|recorded margin| - 1). The arrays it
    does not change are links to `dyn`'s files. Synthetic, as the scale
    bench's dynamics may be: it measures time and memory."""
    out = folder / "thr"
    if dynamics_file(out).exists():
        return out
    dyn = Dynamics.from_disk(folder / "dyn")
    n_labels = len(dyn.labels)
    flags, assigned = numpy.array(dyn.flags), numpy.array(dyn.assigned)
    positive = numpy.nonzero((flags & FLAG_POSITIVE) > 0)[0][::n_labels]
    negatives = numpy.nonzero((flags & FLAG_POSITIVE) == 0)[0]
    step = max(len(negatives) // max(len(positive), 1), 1)
    chosen = numpy.concatenate([positive, negatives[::step][:len(positive)]])
    flags[chosen] |= FLAG_THRESHOLD
    assigned[chosen] = n_labels + 1
    out.mkdir(parents=True, exist_ok=True)
    margins = {f"margins-{e:03d}.npy": numpy.array(c) for e, c in enumerate(dyn.epoch_columns(e)["margins"]
                                                                           for e in range(dyn.n_epochs))}
    for m in margins.values():
        m[chosen] = -numpy.abs(m[chosen]) - 1.0
    for f in (folder / "dyn").glob("*.npy"):
        if f.name not in ("flags.npy", "assigned.npy", *margins):
            (out / f.name).symlink_to(f.resolve())
    for name, array in {"flags.npy": flags, "assigned.npy": assigned, **margins}.items():
        numpy.save(out / name, array)
    meta = json.loads(dynamics_file(folder / "dyn").read_text(encoding="utf8"))
    dynamics_file(out).write_text(json.dumps({**meta, "threshold_samples": int(len(chosen))}), encoding="utf8")
    return out


def write_repeated(dataset: str, size: int, folder: Path) -> None:
    """The size's distant and gold corpora, written one doc at a time."""
    for split in ("train-ds", "train-gs"):
        if not (folder / f"{split}.spacy").exists():
            tmp = folder / f"{split}.tmp.spacy"
            write_docbin(Repeated(read_docbin(corpus(dataset, split)), size), tmp)
            tmp.replace(folder / f"{split}.spacy")


def build(dataset: str, size: int, run: Path) -> Path:
    """The size's corpora (distant and gold) and dynamics, written once."""
    folder = WORK / "scale" / dataset / f"x{size}"
    if dynamics_file(folder / "dyn").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    write_repeated(dataset, size, folder)
    real = Dynamics.from_disk(run / "dyn-noisy")
    tiled_dynamics(real, size, read_docbin(corpus(dataset, "train-ds"))).to_disk(folder / "dyn")
    return folder


def timed(cmd: List[str], log: Path) -> Dict[str, float]:
    """Wall seconds, CPU seconds (user + system: what to compare where other
    work shares the cores) and peak resident memory of one process."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M %U %S", *cmd], capture_output=True, text=True)
    log.write_text(out.stdout + out.stderr)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed; see {log}")
    line = [x for x in out.stderr.splitlines() if x.startswith("TIME ")][-1].split()
    return {"seconds": float(line[1]), "cpu_seconds": round(float(line[3]) + float(line[4]), 2),
            "peak_rss_mb": round(int(line[2]) / 1024, 1)}


def stage_command(stage: str, folder: Path, run: Path) -> List[str]:
    py = [sys.executable, "-m", "spacy_dynclean"]
    paths = ["--paths.corpus", str(folder / "train-ds.spacy"), "--paths.dynamics", str(folder / "dyn")]
    if stage.startswith("clean-"):
        preset = stage.split("-")[1]
        extra = ["--paths.heldout", str(run / "heldout.json")] if preset in ("combined", "default") else []
        if preset == "default":
            extra += ["--paths.threshold_dynamics", str(synthetic_threshold(folder))]
        if stage.endswith("-batches"):
            extra += ["--evidence.batch_size", str(BATCH_SIZE)]
        return py + ["clean", preset, str(folder / f"out-{stage[6:]}.spacy"), *paths, *extra]
    if stage.startswith("review"):
        extra = ["--evidence.batch_size", str(BATCH_SIZE)] if stage.endswith("-batches") else []
        return py + ["review", "goldfree", str(folder / stage), *paths, *extra]
    return py + ["audit", str(folder / "train-ds.spacy"), str(folder / "out-goldfree.spacy"),
                 str(folder / "train-gs.spacy"), "-o", str(folder / "audit.json")]


def same_as_in_memory(stage: str, folder: Path) -> Dict[str, bool]:
    """Whether a `-batches` stage wrote what its stage in memory wrote (the
    corpus; a review's groups, pages and tasks), where that ran."""
    if stage.startswith("clean-"):
        whole, batches = folder / f"out-{stage[6:-8]}.spacy", folder / f"out-{stage[6:]}.spacy"
        if not whole.with_suffix(".report.json").exists():  # at 50x and 100x: the audit's stand-in, no `clean`
            return {}
        return {"same_as_in_memory": filecmp.cmp(whole, batches, shallow=False)}
    whole, batches = folder / "review", folder / stage
    if not (whole / "groups.json").exists():
        return {}
    same = all(filecmp.cmp(whole / f, batches / f, shallow=False) for f in ("tasks.jsonl", "label-studio.json"))
    # the page names the corpus's path (title, heading), which differs between snapshots of the bench
    pages = [re.sub(r"review of \S+?\.spacy", "review of CORPUS", (f / "review.html").read_text(encoding="utf8"))
             for f in (whole, batches)]
    same = same and pages[0] == pages[1]
    groups = [json.loads((f / "groups.json").read_text(encoding="utf8"))["groups"] for f in (whole, batches)]
    return {"same_as_in_memory": same and groups[0] == groups[1]}


def plot(rows: List[Dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for stage in STAGES:
        pts = sorted((r["size"], r["cpu_seconds"], r["peak_rss_mb"]) for r in rows if r["stage"] == stage)
        if pts:
            axes[0].plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=stage)
            axes[1].plot([p[0] for p in pts], [p[2] for p in pts], marker="o", label=stage)
    for ax, what in zip(axes, ("CPU seconds", "peak RSS (MB)")):
        ax.set_xlabel("corpus size (x conll03)")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="conll03")
    p.add_argument("--sizes", default="1,2,5,10")
    p.add_argument("--run", default=None, help="the recorded run's folder (default: the -r4 seed 0 run)")
    p.add_argument("--audit-sizes", default="", help="sizes where only audit runs (see the module docstring)")
    p.add_argument("--merge", action="store_true", help="keep the saved rows of sizes and stages not rerun")
    p.add_argument("--stages", default=",".join(STAGES), help="the stages run at --sizes")
    args = p.parse_args()
    stages = [s for s in STAGES if s in args.stages.split(",")]
    run = Path(args.run) if args.run else WORK / "quality" / args.dataset / "cnn-r4" / "seed0"
    rows: List[Dict] = []
    for size in [int(s) for s in args.audit_sizes.split(",") if s]:
        folder = build_for_audit(args.dataset, size)
        row = {"size": size, "stage": "audit", "samples": None, "cleaned": "1x goldfree clean, repeated",
               **timed(stage_command("audit", folder, run), folder / "audit.log")}
        print(row, flush=True)
        rows.append(row)
    for size in [int(s) for s in args.sizes.split(",") if s]:
        folder = build(args.dataset, size, run)
        n = len(Dynamics.from_disk(folder / "dyn"))
        for stage in stages:
            row = {"size": size, "stage": stage, "samples": n,
                   **timed(stage_command(stage, folder, run), folder / f"{stage}.log")}
            if stage.endswith("-batches"):  # the same output as in memory, where that ran
                row.update(same_as_in_memory(stage, folder))
            print(row, flush=True)
            rows.append(row)
    name = f"scale-{args.dataset}"
    epochs = Dynamics.from_disk(run / "dyn-noisy").n_epochs
    with open(RESULTS / f".{name}.lock", "w") as lock:  # runs in two lanes merge one at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if args.merge and (RESULTS / f"{name}.json").exists():
            done = {(r["size"], r["stage"]) for r in rows}
            saved = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf8"))["rows"]
            rows = sorted([r for r in saved if (r["size"], r["stage"]) not in done] + rows,
                          key=lambda r: (r["size"], STAGES.index(r["stage"])))
        save(name, {"dataset": args.dataset, "epochs": epochs, "batch_size": BATCH_SIZE, "rows": rows})
        plot(rows, RESULTS / f"{name}.png")


if __name__ == "__main__":
    main()
