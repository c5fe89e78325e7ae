"""What does `clean` cost? Wall time and peak memory of `clean` on the
dynamics of 1-epoch CNN runs, and the dynamics file size, from webpage to
wiki to conll03 (samples vs seconds).

    python bench/bench_clean.py --datasets webpage,wiki,conll03
"""
import argparse
import subprocess
import sys
import time

from common import ROOT, WORK, corpus, save

from spacy_dynclean import Dynamics


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
        if not (dyn_dir / "dynamics.npz").exists():
            start = time.time()
            subprocess.run([sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "cnn.cfg"),
                            "--paths.train", str(train_path), "--paths.dev", str(corpus(dataset, "dev")),
                            "--paths.dynamics", str(dyn_dir), "--training.max_epochs", "1",
                            "--training.eval_frequency", "100000"], check=True, capture_output=True)
            train_seconds = round(time.time() - start, 1)
        out = base / "cleaned.spacy"
        cmd = [sys.executable, "-m", "spacy_dynclean", "clean", str(train_path), str(dyn_dir), str(out),
               "--method", "fraction", "--neg-fraction", "0.005", "--pos-fraction", "0.05"]
        start = time.time()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], check=True, capture_output=True, text=True)
        seconds = time.time() - start
        peak_kb = int(result.stderr.strip().splitlines()[-1])
        dyn = Dynamics.from_disk(dyn_dir)
        row = {"dataset": dataset, "samples": len(dyn), "clean_seconds": round(seconds, 2),
               "clean_peak_rss_mb": round(peak_kb / 1024, 1),
               "dynamics_mb_per_epoch": round((dyn_dir / "dynamics.npz").stat().st_size / 1e6, 1),
               "train_1_epoch_seconds": train_seconds}
        rows.append(row)
        print(row, flush=True)
    print("| dataset | samples | clean (s) | peak RSS (MB) | dynamics file, 1 epoch (MB) |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['dataset']} | {r['samples']:,} | {r['clean_seconds']} | {r['clean_peak_rss_mb']} | "
              f"{r['dynamics_mb_per_epoch']} |")
    save("clean-cost", {"rows": rows})


if __name__ == "__main__":
    main()
