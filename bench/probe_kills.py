"""Kill `clean` (or `review`) at random times: are its outputs then all old or all new, and
does its last line say which?

    python bench/probe_kills.py --runs 30

Builds webpage's inputs as probe_inputs.py does, writes "old" outputs with
the goldfree preset, makes the "new" ones once with the combined preset
(their reference hashes), then per run starts `clean combined` into the same
output, sends SIGTERM or SIGKILL (alternating) after a random delay within
its usual duration, and reads the four outputs: each must hash as all old or
all new (the reports by the config they name: they also hold the run's
seconds). A SIGTERM before the handlers are set (while the command loads)
ends it with no message and nothing written, which counts as honest; so
does one after the success line was printed (Python's default handler is
back while the interpreter shuts down). After
a SIGKILL the next command that writes into the folder rolls
back a commit cut short, so `audit` writes a file beside them first. After a
SIGTERM the message must match the state ("nothing was written" for old,
"every output is new" for new). Saved as bench/results/probe-kills-<command>.json.
"""
import argparse
import hashlib
import json
import random
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List

from common import save
from probe_inputs import DC, ENV, setup

OUTPUTS = {"clean": ("c.spacy", "c.report.json", "c.report.md", "c.cfg"),
           "review": ("rev/review.html", "rev/tasks.jsonl", "rev/groups.json", "rev/label-studio.json",
                      "rev/label-studio.xml")}


def hashes(folder: Path, command: str) -> List[str]:
    """What identifies each output's run: the corpus and config by content, the reports by the config
    they name (they also hold the run's seconds, which differ between runs of the same config)."""
    out = []
    for name in OUTPUTS[command]:
        path = folder / name
        if not path.exists():
            out.append("missing")
        elif name == "c.report.json":
            out.append(json.loads(path.read_text())["config"])
        elif name == "rev/groups.json":
            out.append("combined" if "[detectors.heldout]" in json.loads(path.read_text())["config"] else "goldfree")
        elif name == "c.report.md":
            text = path.read_text()
            out.append("combined" if "combined" in text else "goldfree" if "goldfree" in text else "?")
        else:
            out.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--command", choices=sorted(OUTPUTS), default="clean")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        p = setup(base)
        out = Path(tmp) / "out"
        paths = ["--paths.corpus", str(p["train"]), "--paths.dynamics", str(p["dyn"]), "--paths.heldout",
                 str(p["heldout"])]

        def clean(preset: str) -> List[str]:
            target = out / "c.spacy" if args.command == "clean" else out / "rev"
            return [*DC, args.command, preset, str(target), *paths]

        start = time.time()
        subprocess.run(clean("combined"), check=True, capture_output=True, env=ENV, cwd=tmp)
        duration = time.time() - start
        new = hashes(out, args.command)
        subprocess.run(clean("goldfree"), check=True, capture_output=True, env=ENV, cwd=tmp)
        old = hashes(out, args.command)
        assert old != new
        for i in range(args.runs):
            sig = signal.SIGTERM if i % 2 == 0 else signal.SIGKILL
            delay = rng.uniform(0.5, duration * 1.1)
            proc = subprocess.Popen(clean("combined"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                                    cwd=tmp, text=True)
            time.sleep(delay)
            proc.send_signal(sig)
            out_text, err = proc.communicate()
            if sig == signal.SIGKILL:  # the next command into the folder finishes what the killed one left
                subprocess.run([*DC, "audit", str(p["train"]), str(p["cleaned"]), str(p["gold"]), "-o",
                                str(out / "audit.json")], capture_output=True, env=ENV, cwd=tmp)
                (out / "audit.json").unlink(missing_ok=True)
            state = hashes(out, args.command)
            kind = "old" if state == old else "new" if state == new else "mixed"
            last = err.strip().splitlines()[-1] if err.strip() else ""
            # "finished": it exited 0, or had printed its success line when the signal came (a SIGTERM while
            # the interpreter shuts down meets Python's default handler again)
            says = ("new" if "every output is new" in last else "old" if "nothing was written" in last
                    else "finished" if proc.returncode == 0 or "Wrote" in out_text
                    else "other")
            # killed before the handlers are set (while loading): no message, nothing written, is honest too
            honest = sig == signal.SIGKILL or says == kind or (says == "finished" and kind == "new") or (
                says == "other" and not last and kind == "old")
            rows.append({"run": i, "signal": sig.name, "delay": round(delay, 2), "exit": proc.returncode,
                         "state": kind, "message": last[:200], "honest": honest})
            print(f"{i:3} {sig.name:8} after {delay:5.2f}s: exit {proc.returncode:4}, outputs {kind:5}, "
                  f"message {says}{'' if honest else '  <- WRONG'}", flush=True)
            # back to the old outputs for the next run
            subprocess.run(clean("goldfree"), check=True, capture_output=True, env=ENV, cwd=tmp)
    counts: Dict[str, int] = dict(Counter(r["state"] for r in rows))
    wrong = sum(not r["honest"] for r in rows)
    print(counts, f"messages not matching the outputs: {wrong}")
    save(f"probe-kills-{args.command}", {"command": args.command, "runs": len(rows), "states": counts, "wrong_messages": wrong,
                         "clean_seconds": round(duration, 1), "rows": rows})


if __name__ == "__main__":
    main()
