"""Every command block of the README runs as written after the project's loop
on wiki (../shared): the user guide's paths are the ones `all` creates."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from spacy_dynclean.convert import read_docbin

from .helpers import copy_project

ROOT = Path(__file__).parent.parent
# `python` in the README is this interpreter
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def readme_blocks() -> List[Tuple[str, str]]:
    """(language, text) of every fenced bash or python block of the README."""
    text = (ROOT / "README.md").read_text(encoding="utf8")
    return re.findall(r"^```(bash|python)\n(.*?)^```", text, flags=re.M | re.S)


def commands(block: str) -> List[str]:
    """The block's shell commands: continuation lines joined, comments dropped."""
    lines = block.replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def run(cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=ENV, cwd=cwd)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def decide_first_group(project: Path) -> None:
    """What the README asks of the user between `review` and `apply-review`."""
    groups = json.loads((project / "review" / "groups.json").read_text())["groups"]
    assert groups, "the review found nothing to decide"
    (project / "review" / "decisions.csv").write_text(f"group,decision\n{groups[0]['id']},remove\n")


def test_readme_blocks_match_the_cases_this_test_handles():
    blocks = readme_blocks()
    first = commands(blocks[0][1])
    assert "project run all" in first[0] and "pytest" in first[1]  # the setup block: stood in for below
    assert sum("label-studio start" in text for _, text in blocks) == 1  # the browser block: apply-review run only


@pytest.mark.e2e
@pytest.mark.slow
def test_readme_commands_run_as_written_after_the_loop(tmp_path, wiki_dir):
    project = copy_project(tmp_path)
    # the first block (install, then `all` on wiki): `smoke` is the same chain with fewer epochs
    run(f"python -m spacy project run smoke . --vars.dataset wiki --vars.data_dir {wiki_dir.parent} "
        "--vars.epochs 2", project)
    blocks = readme_blocks()
    ran = 0
    for lang, text in blocks[1:]:
        if lang == "python":
            script = tmp_path / f"block{ran}.py"
            script.write_text(text, encoding="utf8")
            run(f"python {script}", project)
            ran += 1
            continue
        for cmd in commands(text):
            if cmd.startswith("label-studio"):
                continue  # the browser steps; the export they make is tested in tests/review
            if "review/export.json" in cmd:
                continue
            if "apply-review" in cmd and "decisions.csv" in cmd:
                decide_first_group(project)
            run(cmd, project)
            ran += 1
    assert ran >= 7
    reviewed = read_docbin(project / "corpus/wiki/train-reviewed.spacy")
    assert len(reviewed) == len(read_docbin(project / "corpus/wiki/train-ds.spacy"))
    assert (project / "training/wiki/cnn/one-run/model-best").exists()
    assert (project / "corpus/wiki/cnn/train-strict.spacy").exists()
