"""Label Studio: the review's groups as tasks for its span editor, and its
JSON export read back as decisions.

`review` writes `label-studio.xml` (a labeling config for the corpus's
entity labels) and `label-studio.json` (one task per group: its first
occurrence's sentence, the suggestion as a prediction the reviewer accepts,
edits or deletes, and the group's metadata). `apply-review` reads the
project's JSON export: per task, the last annotation that was not skipped
decides the group (see `decision_of_annotation`).
"""
import json
from html import escape
from typing import Any, Dict, List, Optional, Tuple

from spacy.tokens import Doc

from spacy_dynclean.review.groups import Group, decision_of_span, describe, suggested_label
from spacy_dynclean.util import DynCleanError

FROM_NAME = "label"
TO_NAME = "text"


def labeling_config(labels: List[str]) -> str:
    """The labeling config: the group's question above the sentence, one span label per entity label."""
    options = "".join(f'\n    <Label value="{escape(label, quote=True)}"/>' for label in labels)
    return (f'<View>\n  <Header value="$question"/>\n  <Labels name="{FROM_NAME}" toName="{TO_NAME}">{options}\n'
            f'  </Labels>\n  <Text name="{TO_NAME}" value="$text"/>\n</View>\n')


def token_offsets(doc: Doc) -> List[List[int]]:
    """[start, end) character offsets of every token in `doc.text`."""
    return [[t.idx, t.idx + len(t.text)] for t in doc]


def span_result(doc: Doc, start: int, end: int, label: str, rid: str) -> Dict[str, Any]:
    chars = token_offsets(doc)
    return {"id": rid, "from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
            "value": {"start": chars[start][0], "end": chars[end - 1][1], "text": doc[start:end].text,
                      "labels": [label]}}


def task_of(group: Group, doc: Doc) -> Dict[str, Any]:
    """A Label Studio task for a group: its first occurrence, the suggestion
    pre-annotated as a prediction (none where the suggestion is no entity)."""
    doc_id, s, e, ss, se = group.occurrences[0]
    label = suggested_label(group)
    result = [span_result(doc, ss, se, label, f"{group.id}-s")] if label is not None else []
    return {
        "data": {"text": doc.text, "question": f"{describe(group)} ({len(group.occurrences)} occurrences)",
                 "group": group.id, "form": group.form, "distant_label": group.label, "action": group.action,
                 "doc_id": doc_id, "distant_span": [s, e], "suggested_span": [ss, se],
                 "tokens": token_offsets(doc), "occurrences": len(group.occurrences),
                 "suspicion": group.suspicion, "signals": group.signals},
        "predictions": [{"model_version": "spacy-dynclean", "score": group.suspicion, "result": result}],
    }


def is_export(records: Any) -> bool:
    """Whether parsed JSON is a Label Studio export (a list of tasks with annotations)."""
    return isinstance(records, list) and bool(records) and all(
        isinstance(r, dict) and "annotations" in r and isinstance(r.get("data"), dict) for r in records)


def token_span(task: Dict[str, Any], value: Dict[str, Any], where: str) -> Tuple[int, int]:
    """The token span of a span annotation's character offsets (they must fall on token edges)."""
    tokens = task["data"].get("tokens") or []
    starts = {a: i for i, (a, _) in enumerate(tokens)}
    ends = {b: i + 1 for i, (_, b) in enumerate(tokens)}
    start, end = value.get("start"), value.get("end")
    if start not in starts or end not in ends or ends[end] <= starts[start]:
        raise DynCleanError(f"{where}: the span {start}..{end} does not start and end on token edges")
    return starts[start], ends[end]


def last_annotation(task: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The newest annotation that was not skipped (None: the group is undecided)."""
    kept = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    kept.sort(key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0))
    return kept[-1] if kept else None


def decision_of_annotation(task: Dict[str, Any], group: Group, where: str) -> Optional[str]:
    """The reviewer's span (at most one) of the newest annotation that was
    not skipped, as a decision (`groups.decision_of_span`)."""
    annotation = last_annotation(task)
    if annotation is None:
        return None
    spans = [r for r in annotation.get("result") or [] if isinstance(r, dict) and r.get("type") == "labels"]
    if len(spans) > 1:
        raise DynCleanError(f"{where}: group {group.id}: {len(spans)} spans; mark one (or none)")
    if not spans:
        return decision_of_span(group, None, None)
    value = spans[0].get("value") or {}
    labels = value.get("labels") or []
    if len(labels) != 1:
        raise DynCleanError(f"{where}: group {group.id}: a span needs exactly one label")
    return decision_of_span(group, token_span(task, value, where), labels[0])


def read_export(text: str, path: str) -> List[Tuple[Dict[str, Any], str]]:
    """(task, where) pairs of a Label Studio JSON export."""
    try:
        records = json.loads(text)
    except json.JSONDecodeError as e:
        raise DynCleanError(f"{path}: malformed JSON ({e.msg}, line {e.lineno})") from None
    if not is_export(records):
        raise DynCleanError(f"{path}: not a Label Studio JSON export (a list of tasks with annotations)")
    return [(r, f"{path}: task {r.get('id', i)}") for i, r in enumerate(records, start=1)]
