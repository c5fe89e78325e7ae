"""A reviewer's decisions: read from a CSV, a JSONL of group decisions or
reviewed Prodigy tasks, and turned into flags and one more suspicion (the
reviewer's suggested spans) for the cleaning's strategy."""
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple


from spacy_dynclean.cleaning.contract import Flags, Proposals, Suspicion
from spacy_dynclean.convert import read_text
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.review.groups import Group, decision_of_span, suggested_label
from spacy_dynclean.review.label_studio import decision_of_annotation, read_export
from spacy_dynclean.util import DynCleanError, PathLike

DECISIONS = ("accept", "reject", "remove")  # and "relabel:LABEL", "bounds:LEFT:RIGHT:LABEL"


def parse_decision(value: Any, where: str, labels: List[str]) -> str:
    if not isinstance(value, str):
        raise DynCleanError(f"{where}: the decision must be a string, not {value!r}")
    value = value.strip()
    if value in DECISIONS:
        return value
    if value.startswith("relabel:") and value.split(":", 1)[1] in labels:
        return value
    parts = value.split(":", 3)
    if parts[0] == "bounds" and len(parts) == 4 and parts[3] in labels and all(
            p.lstrip("-").isdigit() for p in parts[1:3]):
        return value
    raise DynCleanError(f"{where}: unknown decision {value!r}: use accept, reject, remove, relabel:LABEL or "
                        f"bounds:LEFT:RIGHT:LABEL (labels: {', '.join(labels)})")


def read_records(path: Path, text: str) -> List[Tuple[Any, str]]:
    """(record, where) pairs of a decisions file: CSV lines, JSON lines, or a Label Studio JSON export."""
    if path.suffix.lower() == ".json":
        return read_export(text, str(path))
    if path.suffix.lower() == ".csv":
        rows = [r for r in csv.reader(text.splitlines()) if r and any(x.strip() for x in r)]
        if rows and rows[0][0].strip().lower() == "group":
            rows = rows[1:]
        return [({"group": r[0].strip(), "decision": r[1] if len(r) > 1 else None}, f"{path}: line {i}")
                for i, r in enumerate(rows, start=1)]
    records = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((json.loads(line), f"{path}: line {i}"))
        except json.JSONDecodeError as e:
            raise DynCleanError(f"{path}: line {i}: malformed JSON ({e.msg})") from None
    return records


def read_decisions(path: PathLike, groups: Dict[str, Group], labels: List[str]) -> Dict[str, str]:
    """Decisions per group id from a reviewed tasks JSONL (Prodigy's
    "answer", with the label of the suggested span possibly changed or the
    span deleted), a Label Studio JSON export (.json), a JSONL of
    {"group", "decision"} or a CSV of group,decision lines."""
    path = Path(path)
    if not path.exists():
        raise DynCleanError(f"{path}: no such decisions file")
    out: Dict[str, str] = {}
    records = read_records(path, read_text(path))
    if not records:
        raise DynCleanError(f"{path}: holds no decisions (empty, or a header alone); decide some groups first, or "
                            "use `clean` for the cleaning config's decisions alone")
    for record, where in records:
        if not isinstance(record, dict):
            raise DynCleanError(f"{where}: expected an object")
        gid = record.get("group") or (record.get("meta") or {}).get("group") or \
            (record.get("data") or {}).get("group")
        if gid is None:
            raise DynCleanError(f"{where}: no group id (a 'group' field, or meta.group of a review task)")
        if gid not in groups:
            raise DynCleanError(f"{where}: unknown group {gid!r}: the decisions belong to another review "
                                "(or the corpus changed since)")
        if "answer" in record or "annotations" in record:
            read = decision_of_task if "answer" in record else decision_of_annotation
            decision = read(record, groups[gid], where)
            decision = None if decision is None else parse_decision(decision, where, labels)
        else:
            decision = parse_decision(record.get("decision"), where, labels)
        if decision is not None:
            if out.get(gid, decision) != decision:
                raise DynCleanError(f"{where}: group {gid} was decided {out[gid]!r} earlier in the file, "
                                    f"now {decision!r}: keep one decision per group")
            out[gid] = decision
    return out


def decision_of_task(task: Dict[str, Any], group: Group, where: str) -> Optional[str]:
    """Prodigy's answer on a review task: reject keeps the distant label,
    accept applies the (possibly edited) annotation of the suggested span,
    ignore decides nothing."""
    answer = task.get("answer")
    if answer == "ignore":
        return None
    if answer == "reject":
        return "reject"
    if answer != "accept":
        raise DynCleanError(f"{where}: answer must be accept, reject or ignore, not {answer!r}")
    ss, se = task.get("meta", {}).get("suggested_span", [None, None])
    spans = task.get("spans") or []
    here = [sp for sp in spans if sp.get("token_start") == ss and sp.get("token_end") == (se - 1 if se else None)]
    if len(spans) > len(here):
        raise DynCleanError(f"{where}: group {group.id}: only the label of the suggested span can be edited")
    # no span: what "remove" and "mask" suggested, or the suggested span deleted
    span = (group.occurrences[0][3], group.occurrences[0][4]) if here else None
    return decision_of_span(group, span, here[0].get("label") if here else None)


@dataclass
class Reviewed:
    """The decided flags with the reviewer's decisions applied, and the
    reviewer's suggested spans as one more suspicion."""

    flags: Flags
    suspicion: Suspicion


def decided_span(choice: str, group: Group, distant: Tuple[int, int], suggested: Tuple[int, int],
                 labels: List[str]) -> Tuple[int, Tuple[int, int]]:
    """The label column and span a decision gives one occurrence of a group
    (the non-entity column: not an entity; -1: masked)."""
    n_labels = len(labels)
    if choice == "remove":
        return n_labels, distant
    if choice.startswith("relabel:"):
        return labels.index(choice.split(":", 1)[1]), suggested
    if choice.startswith("bounds:"):  # the reviewer's own span, relative to each occurrence's distant span
        _, left, right, name = choice.split(":", 3)
        return labels.index(name), (distant[0] + int(left), distant[1] + int(right))
    shown = suggested_label(group)  # accept: the suggestion shown
    return (labels.index(shown) if shown in labels else (n_labels if group.action == "remove" else -1)), suggested


def reviewed_flags(evidence: Evidence, flags: Flags, groups: Dict[str, Group], decided: Dict[str, str]
                   ) -> Reviewed:
    """Reject clears a group's flags; accept, remove and relabel flag its
    occurrences with the decided annotation (suggested spans of score 2.0,
    above every detector's). The other flags stay as decided."""
    samples = evidence.samples
    labels = samples.labels
    n_labels = len(labels)
    position = {d: i for i, d in enumerate(samples.doc_ids)}
    positive, negative = flags.positive.copy(), flags.negative.copy()
    rows_out: List[tuple] = []
    for gid, choice in decided.items():
        group = groups[gid]
        for doc_id, s, e, ss, se in group.occurrences:
            if doc_id not in position:
                raise DynCleanError(f"group {gid}: doc {doc_id} is not in the corpus")
            p = position[doc_id]
            row = evidence.row_of(p, s, e)
            if row < 0:
                raise DynCleanError(f"group {gid}: span {s}..{e} is not a candidate span of doc {doc_id} "
                                    "(outside the doc, or longer than the cleaning's max_span_length)")
            kind_flags = positive if group.kind == "positive" else negative
            if choice == "reject" or (choice == "remove" and group.kind == "negative"):
                kind_flags[row] = False
                rebound = group.kind == "positive" and (ss, se) != (s, e)
                suggested_row = evidence.row_of(p, ss, se) if rebound else -1
                if suggested_row >= 0:
                    negative[suggested_row] = False  # the suggested span went with the group
                continue
            kind_flags[row] = True
            label, span = decided_span(choice, group, (s, e), (ss, se), labels)
            if not 0 <= span[0] < span[1] <= len(evidence.docs_by_position()[p]):
                raise DynCleanError(f"group {gid}: the decided span {span[0]}..{span[1]} falls outside doc {doc_id}")
            if group.kind == "negative" and span != (s, e):  # another span is the missed entity
                other = evidence.row_of(p, *span)
                if other < 0:
                    raise DynCleanError(f"group {gid}: the decided span {span[0]}..{span[1]} is longer than the "
                                        "cleaning's max_span_length")
                negative[row], negative[other] = False, True
            rows_out.append((row if group.kind == "positive" else -1, p, span[0], span[1], label, 2.0))
    review = Suspicion.none(len(samples))
    review.proposals = Proposals.from_rows(rows_out)
    return Reviewed(Flags(positive, negative, flags.protected_negatives, flags.votes, list(flags.warnings),
                          flags.trusted), review)
