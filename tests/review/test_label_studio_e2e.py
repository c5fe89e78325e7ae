"""The review in a real Label Studio server (SQLite, no network): the tasks
imported through its API, answered as a reviewer would, exported, applied.

Label Studio is the optional extra `review` (`pip install spacy-dynclean[review]`);
the test talks to it over HTTP only, so it may live in a venv of its own:
LABEL_STUDIO_BIN names its `label-studio` command (default: the one on PATH).
"""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from spacy_dynclean.convert import read_docbin
from spacy_dynclean.review.run import apply_review

from .test_review import OVERRIDES, reviewed

BIN = os.environ.get("LABEL_STUDIO_BIN") or shutil.which("label-studio")
TOKEN = "dynclean-test-token"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    BIN is None, reason="Label Studio is not installed (pip install spacy-dynclean[review], or set LABEL_STUDIO_BIN)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(url: str, method: str = "GET", data: Optional[Any] = None) -> Any:
    body = json.dumps(data).encode("utf8") if data is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers={
        "Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read().decode("utf8")
    return json.loads(text) if text else None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("label-studio")
    port = free_port()
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
           "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true"}
    log = (data / "server.log").open("w")
    proc = subprocess.Popen([str(BIN), "start", "--no-browser", "--port", str(port), "--host", "127.0.0.1",
                             "--username", "reviewer@example.com", "--password", "review-pass-1",
                             "--user-token", TOKEN], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(180):
            try:
                call(f"{url}/api/projects")
                break
            except Exception:
                if proc.poll() is not None:
                    pytest.fail(f"Label Studio exited: {(data / 'server.log').read_text()[-2000:]}")
                time.sleep(1)
        else:
            pytest.fail("Label Studio did not answer within 180 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def answer(task: Dict[str, Any], spans: Any) -> Dict[str, Any]:
    """An annotation as the span editor makes it: spans are (start token, end token, label); None skips."""
    if spans is None:
        return {"result": [], "was_cancelled": True}
    chars = task["data"]["tokens"]
    return {"was_cancelled": False, "result": [
        {"id": f"r{i}", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": chars[s][0], "end": chars[e - 1][1], "text": task["data"]["text"][chars[s][0]:chars[e - 1][1]],
                   "labels": [label]}} for i, (s, e, label) in enumerate(spans)]}


def test_review_through_a_label_studio_server(tmp_path, server):
    _, by_key, _ = reviewed(tmp_path)
    review = tmp_path / "review"
    project = call(f"{server}/api/projects", "POST", {
        "title": "spacy-dynclean review", "label_config": (review / "label-studio.xml").read_text()})
    call(f"{server}/api/projects/{project['id']}/import", "POST", json.loads((review / "label-studio.json").read_text()))
    tasks = call(f"{server}/api/tasks?project={project['id']}&page_size=100")
    tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
    assert len(tasks) == 3
    decisions = {
        "The": [],  # accept the suggested removal: delete nothing, add nothing
        "York": [(4, 5, "PER")],  # reject: the distant span with the distant label, as it was
        "Carl Lee": [(2, 3, "PER")],  # re-bound: the reviewer's own span, "Carl" alone as PER
    }
    for task in tasks:
        call(f"{server}/api/tasks/{task['id']}/annotations", "POST", answer(task, decisions[task["data"]["form"]]))
    export = call(f"{server}/api/projects/{project['id']}/export?exportType=JSON")
    (review / "export.json").write_text(json.dumps(export))
    result = apply_review(tmp_path / "cased.spacy", review / "export.json", tmp_path / "out.spacy",
                          overrides=OVERRIDES)
    assert result["decided_groups"] == 3
    docs = {d.text.strip(): d for d in read_docbin(tmp_path / "out.spacy")}
    before = {d.text.strip(): d for d in read_docbin(tmp_path / "cased.spacy")}
    assert docs["The press waited"][0].ent_iob_ == "O"  # removed
    assert [(e.text, e.label_) for e in docs["the press in New York waited"].ents] == [("York", "PER")]  # rejected
    assert [(e.text, e.label_) for e in docs["he met Carl Lee in Oslo"].ents][:1] == [("Carl", "PER")]
    changed = {t for t in docs if [(e.start, e.end, e.label_) for e in docs[t].ents]
               != [(e.start, e.end, e.label_) for e in before[t].ents]}
    # exactly the sentences of the groups decided to change (The x3, Carl Lee); the rejected York kept
    assert changed == {"The mayor met Anna Berg", "The dog met the mayor", "The press waited",
                       "he met Carl Lee in Oslo"}
    assert all(t.ent_iob_ != "" for t in docs["the press in New York waited"])  # nothing masked there
