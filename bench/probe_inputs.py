"""Probe every command with malformed inputs: does each failure end in one
line on stderr that names the file or the setting, never a traceback, an
"unexpected error" or silence?

    python bench/probe_inputs.py

Builds a working folder from webpage (the bench's seed-0 recording run,
bench/work/quality/webpage/cnn-r4/seed0: run bench_quality.py first), checks
that every command succeeds on the intact inputs, then runs it once per
damaged input (missing, empty, garbage, truncated, a folder, JSON of another
shape, ...). A case is "one line" (the goal), "unexpected" (the catch-all
error), "traceback", "silent" (failed with nothing on stderr) or "accepted"
(exit 0: read by hand whether that is right). As root it also writes each
command's outputs onto a full (40 kB tmpfs) file system: one line naming the
output, nothing left behind ("left files" otherwise). Saved as
bench/results/probe-inputs.json with every case's command and stderr
(`--disk-only`: the full-disk cases alone, probe-disk.json).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from common import ROOT, WORK, corpus, save

from spacy_dynclean.recording.dynamics import Dynamics

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
DC = [sys.executable, "-m", "spacy_dynclean"]


def run(argv: List[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600)


def classify(result: subprocess.CompletedProcess) -> str:
    err = result.stderr.strip()
    if result.returncode == 0:
        return "accepted"
    if "Traceback" in err:
        return "traceback"
    if "unexpected error" in err:
        return "unexpected"
    lines = [line for line in err.splitlines() if line.startswith("✘")]
    return "one line" if len(lines) == 1 else "silent"


# damages of one input file: name -> function(path) writing the damaged copy in place
def _truncate(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


FILE_DAMAGES: Dict[str, Callable[[Path], None]] = {
    "missing": lambda p: p.unlink(),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"hello \x00\x01 world"),
    "truncated": _truncate,
    "folder": lambda p: (p.unlink(), p.mkdir()),
}
JSON_DAMAGES: Dict[str, Callable[[Path], None]] = {
    "json list": lambda p: p.write_text("[]"),
    "json object": lambda p: p.write_text("{}"),
    "json null": lambda p: p.write_text("null"),
}


def probe_row(command: str, key: str, damage: str, result: subprocess.CompletedProcess) -> Dict[str, object]:
    kind, err = classify(result), result.stderr.strip()
    print(f"{command:16} {key:12} {damage:34} {kind:10} {err.splitlines()[-1][:160] if err else ''}", flush=True)
    return {"command": command, "input": key, "damage": damage, "result": kind, "exit": result.returncode,
            "stderr": err[-600:]}


def setup(work: Path) -> Dict[str, Path]:
    seed0 = WORK / "quality" / "webpage" / "cnn-r4" / "seed0"
    if not (seed0 / "dyn-noisy").exists():
        raise SystemExit(f"{seed0}: no recording run; run bench_quality.py --dataset webpage first")
    paths = {"train": work / "train.spacy", "dev": work / "dev.spacy", "gold": work / "gold.spacy",
             "dyn": work / "dyn", "heldout": work / "heldout.json", "model": work / "model"}
    shutil.copy(corpus("webpage", "train-ds"), paths["train"])
    shutil.copy(corpus("webpage", "dev"), paths["dev"])
    shutil.copy(corpus("webpage", "train-gs"), paths["gold"])
    Dynamics.from_disk(seed0 / "dyn-noisy").to_disk(paths["dyn"])
    shutil.copy(seed0 / "heldout.json", paths["heldout"])
    shutil.copytree(seed0 / "noisy" / "model-best", paths["model"])
    ok = run([*DC, "clean", "combined", str(work / "c.spacy"), "--paths.corpus", str(paths["train"]),
              "--paths.dynamics", str(paths["dyn"]), "--paths.heldout", str(paths["heldout"])], work)
    assert ok.returncode == 0, ok.stderr
    ok = run([*DC, "review", "goldfree", str(work / "review"), "--paths.corpus", str(paths["train"]),
              "--paths.dynamics", str(paths["dyn"])], work)
    assert ok.returncode == 0, ok.stderr
    groups = json.loads((work / "review" / "groups.json").read_text())["groups"]
    (work / "decisions.csv").write_text(f"group,decision\n{groups[0]['id']},remove\n")
    metrics = {"ents_p": 0.5, "ents_r": 0.4, "ents_f": 0.44}
    (work / "m1.json").write_text(json.dumps(metrics))
    (work / "m2.json").write_text(json.dumps({**metrics, "ents_f": 0.5}))
    sums = subprocess.run(["sha256sum", "train.spacy"], capture_output=True, text=True, cwd=work).stdout
    (work / "sums.txt").write_text(sums)
    paths.update({"clean_report": work / "c.report.json", "groups": work / "review" / "groups.json",
                  "tasks": work / "review" / "tasks.jsonl", "decisions": work / "decisions.csv",
                  "m1": work / "m1.json", "sums": work / "sums.txt", "cleaned": work / "c.spacy"})
    return paths


def commands(p: Dict[str, Path], out: Path) -> Dict[str, Tuple[List[str], List[str]]]:
    """Per command: its argv on intact inputs, and the inputs (keys of p) to damage."""
    s = {k: str(v) for k, v in p.items()}
    clean_paths = ["--paths.corpus", s["train"], "--paths.dynamics", s["dyn"], "--paths.heldout", s["heldout"]]
    return {
        "clean": ([*DC, "clean", "combined", str(out / "o.spacy"), *clean_paths], ["train", "heldout", "dyn"]),
        "review": ([*DC, "review", "combined", str(out / "rev"), *clean_paths], ["train", "heldout", "dyn"]),
        "apply-review": ([*DC, "apply-review", s["train"], s["decisions"], str(out / "a.spacy"), "--groups",
                          s["groups"], "--paths.dynamics", s["dyn"]], ["decisions", "groups", "train"]),
        "audit": ([*DC, "audit", s["train"], s["cleaned"], s["gold"], "-o", str(out / "audit.json")],
                  ["train", "cleaned", "gold"]),
        "report": ([*DC, "report", s["dyn"], str(out / "plots"), "--clean-report", s["clean_report"]],
                   ["dyn", "clean_report"]),
        "heldout": ([*DC, "heldout", s["model"], s["dev"], str(out / "h.json")], ["dev"]),
        "compare": ([*DC, "compare", f"noisy={s['m1']}", f"other={s['m1']}", "-o", str(out / "cmp.md")], ["m1"]),
        "verify-checksums": ([*DC, "verify-checksums", s["sums"], str(p["train"].parent)], ["sums"]),
        "convert": ([*DC, "convert", s["train"], str(out / "conv.spacy")], ["train"]),
    }


def damage_dyn(dyn: Path) -> Dict[str, Callable[[], None]]:
    """Damages of a dynamics folder, file by file."""
    out: Dict[str, Callable[[], None]] = {"folder missing": lambda: shutil.rmtree(dyn),
                                          "folder empty": lambda: [f.unlink() for f in dyn.iterdir()]}
    for name in ("dynamics.json", "margins-000.npy", "doc.npy", "pred-001.npy"):
        for dname, fn in FILE_DAMAGES.items():
            out[f"{name} {dname}"] = (lambda fn=fn, name=name: fn(dyn / name))
    for dname, fn in JSON_DAMAGES.items():
        out[f"dynamics.json {dname}"] = (lambda fn=fn: fn(dyn / "dynamics.json"))

    def meta(**changes):
        def apply():
            data = json.loads((dyn / "dynamics.json").read_text())
            data.update(changes)
            (dyn / "dynamics.json").write_text(json.dumps(data))
        return apply
    out["dynamics.json n_epochs text"] = meta(n_epochs="two")
    out["dynamics.json n_epochs too many"] = meta(n_epochs=99)
    out["dynamics.json labels null"] = meta(labels=None)
    out["dynamics.json doc_ids short"] = meta(doc_ids=["a"])
    return out


def config_cases(cfg_text: str) -> Dict[str, Tuple[str, List[str]]]:
    """Malformed cleaning configs and overrides for `clean`: name -> (config text, extra overrides)."""
    def edit(old: str, new: str) -> str:
        assert old in cfg_text, old
        return cfg_text.replace(old, new, 1)
    return {
        "config garbage": ("hello [ world", []),
        "config empty": ("", []),
        "config unknown function": (edit("[detectors.aum]", "[detectors.aum]\n@misc = \"nope.v1\"\n[detectors.x]"), []),
        "config unknown interpolation": (edit("max_span_length = 8", "max_span_length = ${paths.nope}"), []),
        "config circular interpolation": (edit("max_span_length = 8", "max_span_length = ${evidence.max_span_length}"), []),
        "config span length text": (edit("max_span_length = 8", "max_span_length = \"eight\""), []),
        "config strategy unknown detector": (edit("detectors = null", "detectors = [\"nope\"]"), []),
        "config decision unknown detector": (edit('negatives = ["heldout","structure","learned"]',
                                                  'negatives = ["heldout","nope"]'), []),
        "override unknown section": (cfg_text, ["--nope.x", "1"]),
        "override bad value": (cfg_text, ["--detectors.learned.min_ratio", "abc"]),
        "override span length 0": (cfg_text, ["--evidence.max_span_length", "0"]),
        "override unread detector": (cfg_text, ["--detectors.aum.negative_percentile", "90"]),
        "override bad JSON list": (cfg_text, ["--decision.negatives", "[heldout"]),
    }


def train_cases(p: Dict[str, Path], out: Path) -> Dict[str, List[str]]:
    base = [*DC, "train", "cnn", str(out / "t"), "--paths.train", str(p["train"]), "--paths.dev", str(p["dev"]),
            "--training.max_epochs", "1"]
    empty = out / "empty.spacy"
    return {
        "train bad override value": [*base, "--training.max_epochs", "abc"],
        "train unknown section": [*base, "--nosection.x", "1"],
        "train seed not whole": [*base, "--system.seed", "1.5"],
        "train empty dev": [*base[:-4], "--paths.dev", str(empty), "--training.max_epochs", "1"],
        "folds k 500": [*DC, "folds", "cnn", str(p["train"]), str(p["dev"]), str(out / "f"), "-k", "500"],
    }


def disk_cases(p: Dict[str, Path], tiny: Path) -> Dict[str, List[str]]:
    """Commands writing onto a full (`tiny`, 40 kB) file system."""
    s = {k: str(v) for k, v in p.items()}
    clean_paths = ["--paths.corpus", s["train"], "--paths.dynamics", s["dyn"], "--paths.heldout", s["heldout"]]
    return {
        "clean": [*DC, "clean", "combined", str(tiny / "out" / "c.spacy"), *clean_paths],
        "review": [*DC, "review", "combined", str(tiny / "rev"), *clean_paths],
        "apply-review": [*DC, "apply-review", s["train"], s["decisions"], str(tiny / "a.spacy"), "--groups",
                         s["groups"], "--paths.dynamics", s["dyn"]],
        "audit": [*DC, "audit", s["train"], s["cleaned"], s["gold"], "-o", str(tiny / "big" / "audit.json")],
        "convert": [*DC, "convert", s["train"], str(tiny / "conv.spacy")],
        "report": [*DC, "report", s["dyn"], str(tiny / "plots"), "--clean-report", s["clean_report"]],
    }


def probe_full_disk(paths: Dict[str, Path], work: Path) -> List[Dict[str, object]]:
    """The disk cases on a 40 kB tmpfs (needs root; skipped otherwise): one line naming the output, and
    nothing left on the file system."""
    tiny = work / "tiny"
    tiny.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(tiny)],
                      capture_output=True).returncode != 0:
        print("full-disk cases skipped: cannot mount a tmpfs here")
        return []
    rows = []
    try:
        for name, argv in disk_cases(paths, tiny).items():
            row = probe_row(name, "disk", "full file system", run(argv, work))
            left = [str(f.relative_to(tiny)) for f in tiny.rglob("*")]
            if left and row["result"] != "accepted":
                row["result"] = "left files"
                row["left"] = left
            rows.append(row)
            for f in sorted(tiny.rglob("*"), reverse=True):
                f.rmdir() if f.is_dir() else f.unlink()
    finally:
        subprocess.run(["umount", str(tiny)], capture_output=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--disk-only", action="store_true", help="only the full-disk cases (saved as probe-disk)")
    args = ap.parse_args()
    rows: List[Dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        paths = setup(base)
        rows += probe_full_disk(paths, Path(tmp))
        if args.disk_only:
            counts = Counter(r["result"] for r in rows)
            print(dict(counts))
            save("probe-disk", {"cases": len(rows), "results": dict(counts), "rows": rows})
            return
        for name, (argv, inputs) in commands(paths, Path(tmp) / "out-ok").items():
            (Path(tmp) / "out-ok").mkdir(exist_ok=True)
            ok = run(argv, base)
            assert ok.returncode == 0, f"{name} fails on intact inputs: {ok.stderr[-2000:]}"
        for name, (argv, inputs) in commands(paths, Path(tmp) / "out").items():
            for key in inputs:
                if key == "dyn":
                    names = list(damage_dyn(paths[key]))
                else:
                    json_like = paths[key].suffix in (".json", ".jsonl", ".csv")
                    names = [*FILE_DAMAGES, *(JSON_DAMAGES if json_like else {})]
                for dname in names:
                    case = Path(tmp) / "case"
                    if case.exists():
                        shutil.rmtree(case)
                    shutil.copytree(base, case, symlinks=True)
                    target = case / paths[key].relative_to(base)
                    if key == "dyn":
                        damage_dyn(target)[dname]()
                    else:
                        {**FILE_DAMAGES, **JSON_DAMAGES}[dname](target)
                    (case / "out").mkdir()
                    case_argv = [a.replace(str(Path(tmp) / "out"), str(case / "out")).replace(str(base), str(case))
                                 for a in argv]
                    rows.append(probe_row(name, key, dname, run(case_argv, case)))
        cfg_text = run([*DC, "init-config", str(Path(tmp) / "c.cfg"), "--preset", "combined"], base)
        cfg_text = (Path(tmp) / "c.cfg").read_text()
        clean_argv = commands(paths, Path(tmp) / "out")["clean"][0]
        for name, (text, extra) in config_cases(cfg_text).items():
            (Path(tmp) / "bad.cfg").write_text(text)
            argv = [a if a != "combined" else str(Path(tmp) / "bad.cfg") for a in clean_argv] + extra
            rows.append(probe_row("clean", "config", name, run(argv, base)))
        from spacy.tokens import DocBin
        (Path(tmp) / "out").mkdir(exist_ok=True)
        DocBin().to_disk(Path(tmp) / "out" / "empty.spacy")
        for name, argv in train_cases(paths, Path(tmp) / "out").items():
            rows.append(probe_row("train", "config", name, run(argv, ROOT)))
    counts = Counter(r["result"] for r in rows)
    print(dict(counts))
    save("probe-inputs", {"cases": len(rows), "results": dict(counts), "rows": rows})


if __name__ == "__main__":
    main()
