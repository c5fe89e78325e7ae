"""One-run cleaning against the three-step loop: is one `spacy train` with
the cleaning inside it (configs/cnn_clean.cfg) as good as record, clean and
retrain, and what does it cost against one noisy training?

    OMP_NUM_THREADS=1 python bench/bench_one_run.py --dataset wiki --seeds 0,1,2

Per seed, in one run of this script and one after the other: a noisy
training without recording (configs/cnn.cfg, the time reference) and the
one-run cleaned training (same config, epochs and seed; cleaned after
`--after-epochs` epochs with `--clean-config`). The three-step loop's scores
are those of bench_quality.py's runs of the same seeds (`--three-step-tag`,
variant `--three-step-variant`: the same cleaning config on the recording
run's dynamics, then a retraining). Test F1 with dev F1 beside it; saved as
bench/results/one-run-<dataset>-cnn<tag>.json with a `time_ratio` per seed.
"""
import argparse
import json
import math
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

from common import RESULTS, ROOT, WORK, corpus, save

sys.path.insert(0, str(Path(__file__).parent))
from bench_quality import evaluate  # noqa: E402


def timed_train(config: str, out: Path, dataset: str, seed: int, epochs: int, extra: List[str]) -> Tuple[float, float]:
    """`spacy train` of `config`, cached: the wall and CPU seconds of the run that made it (CPU time: user +
    system of the training process, which other work on the machine disturbs less than the wall time)."""
    seconds, cpu = out.parent / f"{out.name}.seconds", out.parent / f"{out.name}.cpu"
    if (out / "model-best").exists() and seconds.exists():
        return float(seconds.read_text()), float(cpu.read_text()) if cpu.exists() else float("nan")
    cmd = [sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / config), "-o", str(out),
           "--paths.train", str(corpus(dataset, "train-ds")), "--paths.dev", str(corpus(dataset, "dev")),
           "--training.max_epochs", str(epochs), "--system.seed", str(seed), *extra]
    out.parent.mkdir(parents=True, exist_ok=True)
    start, usage = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with (out.parent / f"{out.name}.log").open("w") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)} (log: {out.parent / (out.name + '.log')})")
    took = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    seconds.write_text(f"{took:.1f}")
    cpu.write_text(f"{cpu_s:.1f}")
    return took, cpu_s


def recording_mode(run: Path) -> str:
    """How the one-run training recorded (`dynamics_mode` of its saved config: the config's default changed)."""
    found = re.search(r'^dynamics_mode = "(\w+)"', (run / "model-best" / "config.cfg").read_text(), flags=re.M)
    return found.group(1) if found else "unknown"


def three_step(dataset: str, tag: str, variant: str) -> Dict[int, Dict[str, Any]]:
    """Per seed, the scores of bench_quality.py's noisy and cleaned retrainings."""
    path = RESULTS / f"quality-{dataset}-cnn{tag}.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {r["seed"]: {"noisy": r["scores"].get("noisy"), "three_step": r["scores"].get(variant)}
            for r in data["runs"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--after-epochs", type=int, default=1)
    ap.add_argument("--clean-config", default="combined")
    ap.add_argument("--restart", action="store_true", help="train the corrected corpus from new weights")
    ap.add_argument("--three-step-tag", default="-r4")
    ap.add_argument("--three-step-variant", default="combined6", help="bench_quality's pinned preset variant")
    ap.add_argument("--tag", default="")
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                    help="a spacy train override of the one-run training only (repeatable), "
                         "e.g. components.dynclean_ner.dynamics_mode=update")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    work = WORK / "one-run" / args.dataset / f"cnn{args.tag}"
    earlier = three_step(args.dataset, args.three_step_tag, args.three_step_variant)
    runs = []
    for seed in seeds:
        base = work / f"seed{seed}"
        noisy_s, noisy_cpu = timed_train("cnn.cfg", base / "noisy", args.dataset, seed, args.epochs, [])
        extra = ["--paths.cleaned", str(base / "train-cleaned.spacy"), "--paths.clean_config", args.clean_config,
                 "--training.before_update.after_epochs", str(args.after_epochs),
                 "--training.before_update.restart", "true" if args.restart else "false"]
        for item in args.override:
            key, _, value = item.partition("=")
            extra += [f"--{key}", value]
        one_s, one_cpu = timed_train("cnn_clean.cfg", base / "one-run", args.dataset, seed, args.epochs, extra)
        # a variant may link the first run's noisy trainings (same config and seeds; "nan" seconds where the
        # linked run kept no time): no time ratio of its own
        reused = (base / "noisy").is_symlink()
        run = {"seed": seed, "noisy_seconds": None if math.isnan(noisy_s) else round(noisy_s, 1),
               "one_run_seconds": round(one_s, 1),
               "time_ratio": None if reused else round(one_s / noisy_s, 3), "noisy_reused": reused,
               "noisy_cpu_seconds": None if math.isnan(noisy_cpu) else round(noisy_cpu, 1),
               "one_run_cpu_seconds": round(one_cpu, 1),
               "cpu_ratio": None if reused or math.isnan(noisy_cpu + one_cpu) else round(one_cpu / noisy_cpu, 3),
               "scores": {"noisy": evaluate(base / "noisy", args.dataset),
                          "one_run": evaluate(base / "one-run", args.dataset),
                          **{k: v for k, v in earlier.get(seed, {}).items() if v}}}
        runs.append(run)
        sc = run["scores"]
        print(f"seed {seed}: noisy {sc['noisy']['ents_f']:.3f} (dev {sc['noisy'].get('dev_f')}), one-run "
              f"{sc['one_run']['ents_f']:.3f} (dev {sc['one_run'].get('dev_f')}), three-step "
              f"{(sc.get('three_step') or {}).get('ents_f')}; time ratio {run['time_ratio']}, CPU {run['cpu_ratio']}", flush=True)
    summary = {}
    for name in ("noisy", "one_run", "three_step"):
        have = [r["scores"][name] for r in runs if name in r["scores"]]
        if have:
            summary[name] = {key: {"mean": round(statistics.mean(s[key] for s in have), 4),
                                   "sd": round(statistics.stdev(s[key] for s in have), 4) if len(have) > 1 else 0.0}
                             for key in ("ents_f", "dev_f") if all(key in s for s in have)}
    ratios = [r["time_ratio"] for r in runs if r["time_ratio"] is not None]
    summary["time_ratio"] = {"mean": round(statistics.mean(ratios), 3), "max": max(ratios)} if ratios else None
    cpu = [r["cpu_ratio"] for r in runs if r["cpu_ratio"] is not None]
    summary["cpu_ratio"] = {"mean": round(statistics.mean(cpu), 3), "max": max(cpu)} if cpu else None
    print(json.dumps(summary, indent=1))
    modes = sorted({recording_mode(work / f"seed{seed}" / "one-run") for seed in seeds})
    save(f"one-run-{args.dataset}-cnn{args.tag}", {
        "dataset": args.dataset, "epochs": args.epochs, "after_epochs": args.after_epochs, "restart": args.restart,
        "clean_config": args.clean_config, "overrides": args.override, "dynamics_mode": ",".join(modes),
        # since b1d6002 model-best is chosen among the checkpoints after the cleaning (before: among all)
        "model_best": "after cleaning", "three_step": f"quality-{args.dataset}-cnn{args.three_step_tag}: "
        f"{args.three_step_variant}", "runs": runs, "summary": summary,
    })


if __name__ == "__main__":
    main()
