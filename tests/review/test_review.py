import json
import shutil
import subprocess

import pytest

from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.review.run import apply_review, run_review
from spacy_dynclean.util import DynCleanError

from ..helpers import docs_of
from ..cleaning.test_clean import recorded_overrides
from ..cleaning.test_detectors import CASED, cased_evidence

# "The" as MISC twice more, so that its group is the biggest
MORE = CASED + [{"tokens": "The dog met the mayor".split(), "entities": [[0, 0, "MISC"]]},
                {"tokens": "The press waited".split(), "entities": [[0, 0, "MISC"]]}]
OVERRIDES = {"evidence.max_span_length": 3}


def reviewed(tmp_path):
    cased_evidence(tmp_path, MORE)
    counts = run_review("goldfree", tmp_path / "review", overrides={"paths.corpus": str(tmp_path / "cased.spacy"),
                                                                    **OVERRIDES})
    groups = json.loads((tmp_path / "review" / "groups.json").read_text())["groups"]
    return counts, {(g["form"], g["action"]): g for g in groups}, groups


def test_review_groups_ranked_by_gain(tmp_path):
    counts, by_key, groups = reviewed(tmp_path)
    assert counts == {"groups": 3, "shown": 3, "occurrences": 5}  # "New York" goes with the "York" group
    assert [(g["form"], g["label"], g["action"], len(g["occurrences"])) for g in groups] == [
        ("The", "MISC", "remove", 3), ("Carl Lee", None, "mask", 1), ("York", "PER", "rebound:LOC", 1)]
    page = (tmp_path / "review" / "review.html").read_text()
    assert "<script" not in page and "src=" not in page and "<link" not in page  # opens offline
    assert all(f'data-group="{g["id"]}"' in page for g in groups)
    tasks = [json.loads(line) for line in (tmp_path / "review" / "tasks.jsonl").read_text().splitlines()]
    assert [t["meta"]["group"] for t in tasks] == [g["id"] for g in groups]
    york = tasks[2]
    assert [(s["token_start"], s["token_end"], s["label"]) for s in york["spans"]] == [(3, 4, "LOC")]
    assert york["text"][york["spans"][0]["start"]: york["spans"][0]["end"]] == "New York"


def test_apply_review_csv(tmp_path):
    _, by_key, _ = reviewed(tmp_path)
    the, york = by_key[("The", "remove")]["id"], by_key[("York", "rebound:LOC")]["id"]
    (tmp_path / "review" / "d.csv").write_text(f"group,decision\n{the},reject\n{york},relabel:ORG\n")
    result = apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "d.csv", tmp_path / "out.spacy",
                          overrides=OVERRIDES)
    assert result["decided_groups"] == 2 and result["decided_occurrences"] == 4
    docs = {d.text.strip(): d for d in read_docbin(tmp_path / "out.spacy")}
    assert [(e.text, e.label_) for e in docs["The mayor met Anna Berg"].ents][0] == ("The", "MISC")  # rejected
    assert [(e.text, e.label_) for e in docs["the press in New York waited"].ents] == [("New York", "ORG")]
    assert [t.ent_iob_ for t in docs["he met Carl Lee in Oslo"]][2:4] == ["", ""]  # undecided: automatic (mask)


def test_apply_review_prodigy_answers(tmp_path):
    _, by_key, _ = reviewed(tmp_path)
    tasks = [json.loads(line) for line in (tmp_path / "review" / "tasks.jsonl").read_text().splitlines()]
    tasks[0]["answer"] = "accept"  # "The": accept the removal
    tasks[2]["answer"] = "accept"
    tasks[2]["spans"][0]["label"] = "GPE_LIKE"  # an unknown label: refused below
    tasks[1]["answer"] = "ignore"
    path = tmp_path / "review" / "answers.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    with pytest.raises(DynCleanError, match="relabel:GPE_LIKE|GPE_LIKE"):
        apply_review(tmp_path / "cased.spacy", path, tmp_path / "out.spacy", overrides=OVERRIDES)
    tasks[2]["spans"][0]["label"] = "LOC"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    result = apply_review(tmp_path / "cased.spacy", path, tmp_path / "out.spacy", overrides=OVERRIDES)
    assert result["decisions_by_kind"] == {"accept": 2}
    docs = {d.text.strip(): d for d in read_docbin(tmp_path / "out.spacy")}
    assert docs["The press waited"][0].ent_iob_ == "O"


def test_apply_review_refuses_stale_decisions(tmp_path):
    reviewed(tmp_path)
    (tmp_path / "review" / "d.csv").write_text("group,decision\nnope,accept\n")
    with pytest.raises(DynCleanError, match="d.csv: line 1: unknown group 'nope'"):
        apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "d.csv", tmp_path / "o.spacy", overrides=OVERRIDES)
    write_docbin(docs_of(tmp_path, CASED, "other"), tmp_path / "other.spacy")
    (tmp_path / "review" / "d.csv").write_text("group,decision\n")
    with pytest.raises(DynCleanError, match="not the corpus of the review"):
        apply_review(tmp_path / "other.spacy", tmp_path / "review" / "d.csv", tmp_path / "o.spacy")
    assert not (tmp_path / "o.spacy").exists()



@pytest.mark.parametrize("text", ["", "group,decision\n", "\n\n"])
def test_apply_review_refuses_a_file_without_decisions(tmp_path, text):
    """An empty export decides nothing: most likely saved before the review, not a review of nothing."""
    reviewed(tmp_path)
    (tmp_path / "review" / "d.csv").write_text(text)
    with pytest.raises(DynCleanError, match="d.csv: holds no decisions"):
        apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "d.csv", tmp_path / "o.spacy", overrides=OVERRIDES)
    assert not (tmp_path / "o.spacy").exists()


def test_review_leaves_the_folders_other_files_alone(tmp_path):
    """A review into a folder that holds the user's decisions rewrites its own three files only."""
    reviewed(tmp_path)
    (tmp_path / "review" / "decisions.csv").write_text("group,decision\n")
    (tmp_path / "review" / "groups.json").write_text("{}")  # an old review's file: replaced
    run_review("goldfree", tmp_path / "review", overrides={"paths.corpus": str(tmp_path / "cased.spacy"), **OVERRIDES})
    assert (tmp_path / "review" / "decisions.csv").read_text() == "group,decision\n"
    assert sorted(p.name for p in (tmp_path / "review").iterdir()) == [
        "decisions.csv", "groups.json", "label-studio.json", "label-studio.xml", "review.html", "tasks.jsonl"]
    assert json.loads((tmp_path / "review" / "groups.json").read_text())["format"] == "spacy-dynclean.review.v1"
    (tmp_path / "file").write_text("x")
    with pytest.raises(DynCleanError, match="is a file; a review writes a folder"):
        run_review("goldfree", tmp_path / "file", overrides={"paths.corpus": str(tmp_path / "cased.spacy")})


def test_apply_review_refuses_two_decisions_for_one_group(tmp_path):
    _, by_key, _ = reviewed(tmp_path)
    the = by_key[("The", "remove")]["id"]
    (tmp_path / "review" / "d.csv").write_text(f"group,decision\n{the},reject\n{the},accept\n")
    with pytest.raises(DynCleanError, match=f"d.csv: line 2: group {the} was decided 'reject' earlier"):
        apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "d.csv", tmp_path / "o.spacy", overrides=OVERRIDES)
    (tmp_path / "review" / "d.csv").write_text(f"group,decision\n{the},reject\n{the},reject\n")  # the same twice
    assert apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "d.csv", tmp_path / "o.spacy",
                        overrides=OVERRIDES)["decided_groups"] == 1


def test_apply_review_refuses_an_occurrence_outside_its_doc(tmp_path):
    _, by_key, _ = reviewed(tmp_path)
    path = tmp_path / "review" / "groups.json"
    data = json.loads(path.read_text())
    group = next(g for g in data["groups"] if g["form"] == "The")
    group["occurrences"][0][1:3] = [40, 41]  # past the end of its sentence: it must not land in another doc
    path.write_text(json.dumps(data))
    (tmp_path / "review" / "d.csv").write_text(f"group,decision\n{group['id']},accept\n")
    with pytest.raises(DynCleanError, match=f"group {group['id']}: span 40..41 is not a candidate span"):
        apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "d.csv", tmp_path / "o.spacy", overrides=OVERRIDES)
    assert not (tmp_path / "o.spacy").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium; .ci/run installs it)")
def test_review_page_in_a_headless_browser(tmp_path):
    _, _, groups = reviewed(tmp_path)
    page = tmp_path / "review" / "review.html"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    dom = out.stdout
    for rank, g in enumerate(groups, start=1):
        assert f'data-group="{g["id"]}"' in dom
    assert "1. 'The' (MISC): make it a non-entity" in dom.replace("&#x27;", "'").replace("&#39;", "'")
    assert dom.count('class="spans"') >= 5  # displaCy drew every example sentence


# --- Label Studio -------------------------------------------------------------------------------


def label_studio_export(tmp_path, answers):
    """The review's Label Studio tasks as a project export would hold them,
    answered: {form: result spans as (start token, end token, label), or None to skip}."""
    tasks = json.loads((tmp_path / "review" / "label-studio.json").read_text())
    out = []
    for i, task in enumerate(tasks, start=1):
        chars = task["data"]["tokens"]
        spans = answers.get(task["data"]["form"], "unanswered")
        annotations = []
        if spans is None:
            annotations = [{"id": i, "result": [], "was_cancelled": True}]
        elif spans != "unanswered":
            annotations = [{"id": i, "was_cancelled": False, "result": [
                {"id": f"r{i}", "from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": chars[s][0], "end": chars[e - 1][1], "labels": [label]}}
                for s, e, label in spans]}]
        out.append({"id": i, "data": task["data"], "annotations": annotations,
                    "predictions": task["predictions"]})
    path = tmp_path / "review" / "export.json"
    path.write_text(json.dumps(out))
    return path


def test_label_studio_tasks_and_config(tmp_path):
    _, by_key, groups = reviewed(tmp_path)
    tasks = json.loads((tmp_path / "review" / "label-studio.json").read_text())
    assert [t["data"]["group"] for t in tasks] == [g["id"] for g in groups]
    york = next(t for t in tasks if t["data"]["form"] == "York")
    (result,) = york["predictions"][0]["result"]
    assert york["data"]["text"][result["value"]["start"]:result["value"]["end"]] == "New York"
    assert result["value"]["labels"] == ["LOC"] and result["from_name"] == "label" and result["to_name"] == "text"
    the = next(t for t in tasks if t["data"]["form"] == "The")
    assert the["predictions"][0]["result"] == []  # the suggestion is "not an entity": no span
    config = (tmp_path / "review" / "label-studio.xml").read_text()
    assert '<Labels name="label" toName="text">' in config and '<Label value="PER"/>' in config


def test_label_studio_export_gives_the_same_corpus_as_the_csv(tmp_path):
    _, by_key, _ = reviewed(tmp_path)
    export = label_studio_export(tmp_path, {
        "The": [],  # the suggested removal, accepted
        "York": [(3, 5, "ORG")],  # the suggested span, another label
        "Carl Lee": None,  # skipped: undecided
    })
    via_ls = apply_review(tmp_path / "cased.spacy", export, tmp_path / "ls.spacy", overrides=OVERRIDES)
    the, york = by_key[("The", "remove")]["id"], by_key[("York", "rebound:LOC")]["id"]
    (tmp_path / "review" / "d.csv").write_text(f"group,decision\n{the},accept\n{york},relabel:ORG\n")
    via_csv = apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "d.csv", tmp_path / "csv.spacy",
                           overrides=OVERRIDES)
    assert via_ls["decisions_by_kind"] == {"accept": 1, "relabel": 1} and via_ls["decided_groups"] == 2
    assert (tmp_path / "ls.spacy").read_bytes() == (tmp_path / "csv.spacy").read_bytes()
    assert via_ls["changes"] == via_csv["changes"]
    # and the same through Prodigy-format answers on tasks.jsonl
    tasks = [json.loads(line) for line in (tmp_path / "review" / "tasks.jsonl").read_text().splitlines()]
    for task in tasks:
        form = task["meta"]["form"]
        task["answer"] = {"The": "accept", "York": "accept", "Carl Lee": "ignore"}[form]
        if form == "York":
            task["spans"][0]["label"] = "ORG"
    answers = tmp_path / "review" / "answers.jsonl"
    answers.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    apply_review(tmp_path / "cased.spacy", answers, tmp_path / "prodigy.spacy", overrides=OVERRIDES)
    assert (tmp_path / "prodigy.spacy").read_bytes() == (tmp_path / "csv.spacy").read_bytes()


def test_label_studio_reject_and_own_bounds(tmp_path):
    _, by_key, _ = reviewed(tmp_path)
    export = label_studio_export(tmp_path, {
        "The": [(0, 1, "MISC")],  # the distant span and label: reject
        "York": [(2, 5, "LOC")],  # the reviewer's own span: "in New York"
    })
    apply_review(tmp_path / "cased.spacy", export, tmp_path / "o.spacy", overrides=OVERRIDES)
    docs = {d.text.strip(): d for d in read_docbin(tmp_path / "o.spacy")}
    assert [(e.text, e.label_) for e in docs["The mayor met Anna Berg"].ents][0] == ("The", "MISC")
    assert [(e.text, e.label_) for e in docs["the press in New York waited"].ents] == [("in New York", "LOC")]
    bad = label_studio_export(tmp_path, {"York": [(3, 5, "LOC"), (0, 1, "PER")]})
    with pytest.raises(DynCleanError, match="export.json: task 3: group .*: 2 spans"):
        apply_review(tmp_path / "cased.spacy", bad, tmp_path / "o2.spacy", overrides=OVERRIDES)
    (tmp_path / "review" / "not.json").write_text('{"a": 1}')
    with pytest.raises(DynCleanError, match="not.json: not a Label Studio JSON export"):
        apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "not.json", tmp_path / "o3.spacy",
                     overrides=OVERRIDES)


def test_rejecting_a_rebound_keeps_the_sentence_as_it_was(tmp_path):
    """The group "York" -> "New York" also holds the flag of "New York" as a missed entity: a reject clears both."""
    _, by_key, _ = reviewed(tmp_path)
    york = by_key[("York", "rebound:LOC")]["id"]
    (tmp_path / "review" / "d.csv").write_text(f"group,decision\n{york},reject\n")
    apply_review(tmp_path / "cased.spacy", tmp_path / "review" / "d.csv", tmp_path / "o.spacy", overrides=OVERRIDES)
    doc = {d.text.strip(): d for d in read_docbin(tmp_path / "o.spacy")}["the press in New York waited"]
    assert [(e.text, e.label_) for e in doc.ents] == [("York", "PER")]
    assert [t.ent_iob_ for t in doc] == ["O", "O", "O", "O", "B", "O"]  # nothing masked


@pytest.mark.parametrize("batch_size", [1, 9])
def test_a_review_in_batches_writes_the_same_files(tmp_path, batch_size):
    """The groups, pages and tasks of a review in batches are those of the
    whole corpus in memory (the config it records says its batch size); its
    decisions apply to the corpus as a review's in memory do."""
    overrides = recorded_overrides("heldout")
    run_review("default", tmp_path / "whole", overrides=overrides)
    run_review("default", tmp_path / "batches", overrides={**overrides, "evidence.batch_size": batch_size})
    for name in ("review.html", "tasks.jsonl", "label-studio.json", "label-studio.xml"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "batches" / name).read_bytes(), name
    whole, batches = (json.loads((tmp_path / f / "groups.json").read_text()) for f in ("whole", "batches"))
    assert batches["config"] == whole["config"].replace("batch_size = null", f"batch_size = {batch_size}")
    assert {**batches, "config": None} == {**whole, "config": None} and len(whole["groups"]) > 3
