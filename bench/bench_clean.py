"""What does `clean` cost? Wall time and peak memory of `clean` on the
dynamics of 1-epoch CNN runs, and the dynamics file size, from webpage to
wiki to conll03 (samples vs seconds; median of 3 runs); also `clean --heldout` with worst-case
evidence (every dev gold form counted as both wrongly predicted and missed, so
every training span of such a form is looked up and flagged).

    python bench/bench_clean.py --datasets webpage,wiki,conll03
"""
import argparse
import statistics
import subprocess
import sys
import time

from common import ROOT, WORK, corpus, save

from spacy_dynclean.recording.storage import dynamics_file
from spacy_dynclean import Dynamics
from spacy_dynclean.convert import read_docbin
from spacy_dynclean.evidence.heldout import FormEvidence


def worst_case_evidence(dataset: str, path) -> None:
    evidence = FormEvidence()
    for doc in read_docbin(corpus(dataset, "dev")):
        evidence.add([], [(e.start, e.end, e.label_, e.text) for e in doc.ents])
    for form in list(evidence.gold):
        evidence.predicted[form] += 1
    evidence.to_disk(path)


def timed(cmd, repeats: int = 3):
    """Median wall time and peak RSS (KB) of `repeats` runs (the first also warms the page cache)."""
    runs = []
    for _ in range(repeats):
        start = time.time()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], check=True, capture_output=True, text=True)
        runs.append((time.time() - start, int(result.stderr.strip().splitlines()[-1])))
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--datasets", default="webpage,wiki,conll03")
    args = p.parse_args()
    rows = []
    for dataset in args.datasets.split(","):
        base = WORK / "clean-cost" / dataset
        dyn_dir = base / "dyn"
        train_path = corpus(dataset, "train-ds")
        train_seconds = None
        if not dynamics_file(dyn_dir).exists():
            start = time.time()
            subprocess.run([sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "cnn.cfg"),
                            "--paths.train", str(train_path), "--paths.dev", str(corpus(dataset, "dev")),
                            "--paths.dynamics", str(dyn_dir), "--training.max_epochs", "1",
                            "--training.eval_frequency", "100000"], check=True, capture_output=True)
            train_seconds = round(time.time() - start, 1)
        out = base / "cleaned.spacy"
        cmd = [sys.executable, "-m", "spacy_dynclean", "clean", "default", str(out), "--paths.corpus",
               str(train_path), "--paths.dynamics", str(dyn_dir), "--detectors.aum.method", "fraction",
               "--detectors.aum.negative_fraction", "0.005", "--detectors.aum.positive_fraction", "0.05"]
        seconds, peak_kb = timed(cmd + ["--decision.positives", '["aum"]', "--decision.negatives", '["aum"]'])
        worst_case_evidence(dataset, base / "heldout-worst-case.json")
        h_seconds, h_peak_kb = timed(cmd + ["--paths.heldout", str(base / "heldout-worst-case.json"),
                                            "--decision.positives", '["aum","heldout"]'])
        dyn = Dynamics.from_disk(dyn_dir)
        row = {"dataset": dataset, "samples": len(dyn), "clean_seconds": round(seconds, 2),
               "clean_peak_rss_mb": round(peak_kb / 1024, 1),
               "clean_heldout_seconds": round(h_seconds, 2), "clean_heldout_peak_rss_mb": round(h_peak_kb / 1024, 1),
               "dynamics_mb_per_epoch": round(sum(f.stat().st_size for f in dyn_dir.iterdir()) / 1e6, 1),
               "train_1_epoch_seconds": train_seconds}
        rows.append(row)
        print(row, flush=True)
    print("| dataset | samples | clean (s) | peak RSS (MB) | clean --heldout, worst case (s) | "
          "dynamics file, 1 epoch (MB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['dataset']} | {r['samples']:,} | {r['clean_seconds']} | {r['clean_peak_rss_mb']} | "
              f"{r['clean_heldout_seconds']} | {r['dynamics_mb_per_epoch']} |")
    save("clean-cost", {"rows": rows})


if __name__ == "__main__":
    main()
