"""The review loop: suspect labels grouped by (surface form, label, suggested
action), ranked by expected gain, shown as an offline HTML page (displaCy)
and as Prodigy span tasks; decisions per group are fed back by
`apply-review`, which changes every occurrence of each decided group and lets
the cleaning config decide the rest.

Distant errors repeat: reviewing "The" as MISC once settles its 156
occurrences on wiki.
"""
import csv
import hashlib
import html
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy
from spacy.tokens import Doc
from wasabi import msg

from .decision import Decision, Flags
from .detectors import Proposals, Suspicion
from .evidence import Evidence
from .samples import corpus_fingerprint
from .strategies import Change, suggestions
from .util import DynCleanError, PathLike, read_json, write_json

FORMAT = "spacy-dynclean.review.v1"
DECISIONS = ("accept", "reject", "remove")  # and "relabel:LABEL"
SPAN_COLORS = {"→O": "#e0e0e0", "→?": "#f6d365"}


@dataclass
class Group:
    """Flagged samples that share a surface form, a distant label (None for
    a suspected missed entity) and a suggested action."""

    id: str
    form: str
    label: Optional[str]
    action: str
    kind: str
    occurrences: List[List[Any]] = field(default_factory=list)  # [doc id, start, end, sugg start, sugg end]
    signals: List[str] = field(default_factory=list)
    suspicion: float = 0.0

    @property
    def gain(self) -> float:
        """Expected gain of a decision: occurrences times mean suspicion."""
        return len(self.occurrences) * self.suspicion


def action_of(kind: str, change: Optional[Change], span: Tuple[int, int], label: int, labels: List[str]) -> str:
    """The automatic action for a flagged sample, in words."""
    n_labels = len(labels)
    if kind == "negative":
        return f"add:{labels[label]}" if 0 <= label < n_labels else "mask"
    if change is None or change.label < 0:
        return "mask"
    if change.label == n_labels:
        return "remove"
    if (change.start, change.end) == span:
        return f"relabel:{labels[change.label]}"
    return f"rebound:{labels[change.label]}"


def build_groups(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], decision: Decision
                 ) -> List[Group]:
    """Group the decided flags and rank the groups by expected gain."""
    samples = evidence.samples
    labels = samples.labels
    docs = evidence.docs_by_position()
    replace, span_labels = suggestions(evidence, flags, suspicions, decision.detectors)
    groups: Dict[Tuple[str, Optional[str], str], Group] = {}
    votes: Dict[Tuple[str, Optional[str], str], List[float]] = defaultdict(list)
    signals: Dict[Tuple[str, Optional[str], str], Counter] = defaultdict(Counter)
    # the right span of a re-bounded entity is flagged as a missed entity too: one group shows both
    replaced_by = {(int(samples.doc[r]), c.start, c.end) for r, c in replace.items()}
    for row in numpy.nonzero(flags.any)[0].tolist():
        d, s, e = int(samples.doc[row]), int(samples.start[row]), int(samples.end[row])
        kind = "positive" if samples.positive[row] else "negative"
        if kind == "negative" and (d, s, e) in replaced_by:
            continue
        label = labels[int(samples.label[row])] if kind == "positive" else None
        change = replace.get(row)
        action = action_of(kind, change, (s, e), span_labels.get((d, s, e), -1), labels)
        form = docs[d][s:e].text
        key = (form, label, action)
        names = decision.positives if kind == "positive" else decision.negatives
        names = flags.trusted.get(f"{kind}s", names)  # a detector that abstained does not dilute the others
        fired = [n for n in names if (suspicions[n].positive if kind == "positive" else suspicions[n].negative)[row]]
        if key not in groups:
            gid = hashlib.sha1(json.dumps(key).encode("utf8")).hexdigest()[:10]
            groups[key] = Group(gid, form, label, action, kind)
        ss, se = (change.start, change.end) if change is not None and action.startswith("rebound") else (s, e)
        groups[key].occurrences.append([samples.doc_ids[d], s, e, ss, se])
        votes[key].append(len(fired) / max(len(names), 1))
        signals[key].update(fired)
    out = []
    for key, group in groups.items():
        group.suspicion = round(float(numpy.mean(votes[key])), 4)
        group.signals = [n for n, _ in signals[key].most_common()]
        out.append(group)
    out.sort(key=lambda g: (-g.gain, -len(g.occurrences), g.form))
    return out


def suggested_label(group: Group) -> Optional[str]:
    """The label an accepted group's occurrences get (None: not an entity or masked)."""
    if ":" in group.action:
        return group.action.split(":", 1)[1]
    return None


def describe(group: Group) -> str:
    what = group.label if group.label else "not labelled"
    verbs = {"remove": "make it a non-entity", "mask": "mask it (no label known)"}
    if group.action in verbs:
        return f"{group.form!r} ({what}): {verbs[group.action]}"
    verb, label = group.action.split(":", 1)
    words = {"relabel": f"relabel as {label}", "rebound": f"replace by the longer span, {label}",
             "add": f"add as {label}"}
    return f"{group.form!r} ({what}): {words[verb]}"


def render_html(groups: List[Group], docs_by_id: Dict[str, Doc], *, examples: int = 3, title: str = "") -> str:
    """One self-contained page (no script, no remote file): per group, the
    counts, the signals and a few sentences drawn by displaCy with the
    distant span and the suggestion marked."""
    from spacy import displacy

    parts = []
    for rank, group in enumerate(groups, start=1):
        rendered = []
        for doc_id, s, e, ss, se in group.occurrences[:examples]:
            doc = docs_by_id[doc_id]
            spans = []
            if group.label:
                spans.append({"start_token": s, "end_token": e, "label": group.label})
            suggestion = suggested_label(group) or ("O" if group.action == "remove" else "?")
            spans.append({"start_token": ss, "end_token": se, "label": f"→{suggestion}"})
            data = {"text": doc.text, "tokens": [t.text for t in doc], "spans": spans}
            rendered.append(displacy.render(data, style="span", manual=True, page=False, jupyter=False,
                                            options={"colors": SPAN_COLORS}))
        parts.append(
            f'<section class="group" id="group-{group.id}" data-group="{group.id}">'
            f"<h2>{rank}. {html.escape(describe(group))}</h2>"
            f'<p class="meta">group <code>{group.id}</code> · {len(group.occurrences)} occurrences · '
            f"suspicion {group.suspicion:.2f} · expected gain {group.gain:.1f} · signals: "
            f"{html.escape(', '.join(group.signals) or 'none')}</p>{''.join(rendered)}</section>"
        )
    head = html.escape(title or "spacy-dynclean review")
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{head}</title><style>body{{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}}"
        ".group{border-top:1px solid #ccc;padding:.5em 0}.meta{color:#555;font-size:.9em}</style></head>"
        f"<body><h1>{head}</h1><p>{len(groups)} groups, most expected gain first. Under each sentence: the "
        "distant label, and the suggestion after the arrow (→O: not an entity; →?: masked, no label known). "
        "Decide per group in "
        "Prodigy or Argilla (tasks.jsonl) or in a CSV of group,decision lines (accept, reject, remove, "
        f"relabel:LABEL), then run <code>apply-review</code>.</p>{''.join(parts)}</body></html>\n"
    )


def task_of(group: Group, doc: Doc, occurrence: List[Any]) -> Dict[str, Any]:
    """A Prodigy span task for a group: its first occurrence, pre-annotated
    with the suggestion (no span where the suggestion is no entity)."""
    doc_id, s, e, ss, se = occurrence
    tokens, offset = [], 0
    text = ""
    for t in doc:
        tokens.append({"text": t.text, "start": len(text), "end": len(text) + len(t.text), "id": t.i,
                       "ws": bool(t.whitespace_)})
        text += t.text_with_ws
        offset += 1
    label = suggested_label(group)
    spans = []
    if label is not None:
        spans.append({"start": tokens[ss]["start"], "end": tokens[se - 1]["end"], "token_start": ss,
                      "token_end": se - 1, "label": label})
    return {
        "text": text, "tokens": tokens, "spans": spans,
        "meta": {"group": group.id, "form": group.form, "distant_label": group.label, "action": group.action,
                 "occurrences": len(group.occurrences), "suspicion": group.suspicion,
                 "gain": round(group.gain, 3), "signals": group.signals, "doc_id": doc_id,
                 "distant_span": [s, e], "suggested_span": [ss, se]},
    }


def write_review(evidence: Evidence, groups: List[Group], config_text: str, output: Path, *,
                 examples: int = 3, max_groups: Optional[int] = None) -> Dict[str, int]:
    """review.html, tasks.jsonl and groups.json in `output` (a temporary
    folder of a transaction)."""
    docs_by_id = {did: doc for did, doc in zip(evidence.samples.doc_ids, evidence.docs_by_position())}
    shown = groups[:max_groups] if max_groups else groups
    (output / "review.html").write_text(render_html(shown, docs_by_id, examples=examples,
                                                    title=f"spacy-dynclean review of {evidence.corpus}"),
                                        encoding="utf8")
    with open(output / "tasks.jsonl", "w", encoding="utf8") as f:
        for group in shown:
            task = task_of(group, docs_by_id[group.occurrences[0][0]], group.occurrences[0])
            f.write(json.dumps(task, ensure_ascii=False) + "\n")
    write_json(output / "groups.json", {
        "format": FORMAT, "corpus": str(evidence.corpus),
        "fingerprint": corpus_fingerprint(evidence.docs, evidence.samples.spans_key, evidence.samples.ignore_key),
        "labels": evidence.samples.labels, "config": config_text, "groups": [asdict(g) for g in groups],
    })
    return {"groups": len(groups), "shown": len(shown), "occurrences": sum(len(g.occurrences) for g in groups)}


def run_review(config: Any, output: PathLike, *, overrides: Optional[Dict[str, Any]] = None,
               code_path: Optional[PathLike] = None, examples: int = 3, max_groups: Optional[int] = 500
               ) -> Dict[str, Any]:
    """Run a cleaning config's detectors and decision and write the review
    files to the folder `output`, without changing any corpus."""
    from .clean import load_clean_config, prepare
    from .outputs import Outputs

    if examples < 1:
        raise DynCleanError(f"--examples must be at least 1, not {examples}")
    if max_groups is not None and max_groups < 1:
        raise DynCleanError(f"--max-groups must be at least 1, not {max_groups}")
    cfg = load_clean_config(config, overrides)
    output = Path(output)
    with Outputs([output], prepare_inputs(cfg, config, code_path)) as outputs:
        evidence, parts, suspicions, flags, config_text = prepare(cfg)
        groups = build_groups(evidence, flags, suspicions, parts["decision"])
        counts = write_review(evidence, groups, config_text, outputs.folder(output), examples=examples,
                              max_groups=max_groups)
    msg.good(f"Wrote {counts['shown']:,} of {counts['groups']:,} groups ({counts['occurrences']:,} flagged samples) "
             f"to {output}: review.html, tasks.jsonl, groups.json")
    return counts


def prepare_inputs(cfg: Any, config: Any, code_path: Optional[PathLike]) -> List[Any]:
    from thinc.api import Config

    from .evidence import PATH_KEYS

    paths = Config(cfg).interpolate()["paths"]
    config_inputs = [config] if not isinstance(config, Config) and Path(str(config)).exists() else []
    return [paths.get(k) for k in PATH_KEYS] + config_inputs + ([code_path] if code_path else [])


# --- decisions ---------------------------------------------------------------------------------------


def parse_decision(value: Any, where: str, labels: List[str]) -> str:
    if not isinstance(value, str):
        raise DynCleanError(f"{where}: the decision must be a string, not {value!r}")
    value = value.strip()
    if value in DECISIONS:
        return value
    if value.startswith("relabel:") and value.split(":", 1)[1] in labels:
        return value
    raise DynCleanError(f"{where}: unknown decision {value!r}: use accept, reject, remove or relabel:LABEL "
                        f"(labels: {', '.join(labels)})")


def read_decisions(path: PathLike, groups: Dict[str, Group], labels: List[str]) -> Dict[str, str]:
    """Decisions per group id from a reviewed tasks JSONL (Prodigy's
    "answer", with the label of the suggested span possibly changed or the
    span deleted), a JSONL of {"group", "decision"} or a CSV of
    group,decision lines."""
    from .convert import read_text

    path = Path(path)
    if not path.exists():
        raise DynCleanError(f"{path}: no such decisions file")
    text = read_text(path)
    out: Dict[str, str] = {}
    if path.suffix.lower() == ".csv":
        rows = [r for r in csv.reader(text.splitlines()) if r and any(x.strip() for x in r)]
        if rows and rows[0][0].strip().lower() == "group":
            rows = rows[1:]
        records = [({"group": r[0].strip(), "decision": r[1] if len(r) > 1 else None}, f"{path}: line {i}")
                   for i, r in enumerate(rows, start=1)]
    else:
        records = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((json.loads(line), f"{path}: line {i}"))
            except json.JSONDecodeError as e:
                raise DynCleanError(f"{path}: line {i}: malformed JSON ({e.msg})") from None
    for record, where in records:
        if not isinstance(record, dict):
            raise DynCleanError(f"{where}: expected an object")
        gid = record.get("group") or (record.get("meta") or {}).get("group")
        if gid is None:
            raise DynCleanError(f"{where}: no group id (a 'group' field, or meta.group of a review task)")
        if gid not in groups:
            raise DynCleanError(f"{where}: unknown group {gid!r}: the decisions belong to another review "
                                "(or the corpus changed since)")
        if "answer" in record:
            decision = decision_of_task(record, groups[gid], where)
            decision = None if decision is None else parse_decision(decision, where, labels)
        else:
            decision = parse_decision(record.get("decision"), where, labels)
        if decision is not None:
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
    if not here:  # no span: what "remove" and "mask" suggested, or the suggested span deleted
        return "accept" if group.action in ("remove", "mask") else "remove"
    label = here[0].get("label")
    return "accept" if label == suggested_label(group) else f"relabel:{label}"


def apply_review(corpus: PathLike, decisions_path: PathLike, output: PathLike, *,
                 groups_path: Optional[PathLike] = None, report_path: Optional[PathLike] = None,
                 overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Write `corpus` with every occurrence of each decided group changed as
    decided, and the other flags as the review's cleaning config decides."""
    from spacy.vocab import Vocab

    from .clean import load_clean_config, prepare
    from .convert import read_docbin, write_docbin
    from .outputs import Outputs
    from .strategies import correct_docs

    decisions_path = Path(decisions_path)
    groups_path = Path(groups_path) if groups_path else decisions_path.parent / "groups.json"
    data = read_json(groups_path, "review groups file")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DynCleanError(f"{groups_path}: not a review groups file (format {FORMAT!r} expected)")
    groups = {g["id"]: Group(**g) for g in data["groups"]}
    docs = read_docbin(corpus, Vocab())
    spans_key = "sc"
    if corpus_fingerprint(docs, spans_key, "dynclean_ignored") != data["fingerprint"]:
        raise DynCleanError(f"{corpus}: not the corpus of the review {groups_path} (fingerprints differ)")
    decided = read_decisions(decisions_path, groups, data["labels"])
    output = Path(output)
    report = Path(report_path) if report_path else output.with_suffix(".report.json")
    from thinc.api import Config

    cfg = load_clean_config(Config().from_str(data["config"]), {"paths.corpus": str(corpus), **(overrides or {})})
    with Outputs([output, report], [corpus, decisions_path, groups_path] + prepare_inputs(cfg, cfg, None)) as outs:
        evidence, parts, suspicions, flags, _ = prepare(cfg)
        decision: Decision = parts["decision"]
        flags, review = overrule(evidence, flags, suspicions, decision, groups, decided)
        detectors = ["review"] + (decision.detectors if is_correct(decision) else [])
        cleaned, stats = correct_docs(evidence, flags, {**suspicions, "review": review}, detectors)
        counts = Counter(d.split(":")[0] for d in decided.values())
        result = {"corpus": str(corpus), "decisions": str(decisions_path), "groups": str(groups_path),
                  "decided_groups": len(decided), "decisions_by_kind": dict(counts),
                  "decided_occurrences": sum(len(groups[g].occurrences) for g in decided),
                  "changes": stats.changes, "docs_in": stats.docs_in, "docs_out": stats.docs_out,
                  "docs_dropped": stats.docs_dropped}
        write_docbin(cleaned, outs.path(output))
        write_json(outs.path(report), result)
    msg.good(f"Applied {len(decided):,} group decisions ({result['decided_occurrences']:,} occurrences) and the "
             f"automatic decision elsewhere: {output}")
    return result


def is_correct(decision: Decision) -> bool:
    func = getattr(decision.strategy, "func", decision.strategy)
    return getattr(func, "__name__", "") == "correct"


def overrule(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], decision: Decision,
             groups: Dict[str, Group], decided: Dict[str, str]) -> Tuple[Flags, Suspicion]:
    """Flags and a `review` suggestion set with the decisions applied: reject
    clears a group's flags; accept, remove and relabel flag its occurrences
    with the decided annotation. Undecided flags keep the detectors'
    suggestions when the config corrects, and are masked otherwise."""
    samples = evidence.samples
    labels = samples.labels
    n_labels = len(labels)
    position = {d: i for i, d in enumerate(samples.doc_ids)}
    bases = numpy.searchsorted(samples.doc, numpy.arange(len(samples.doc_ids)))
    docs = evidence.docs_by_position()
    from .samples import candidate_row

    positive, negative = flags.positive.copy(), flags.negative.copy()
    rows_out: List[tuple] = []
    for gid, choice in decided.items():
        group = groups[gid]
        for doc_id, s, e, ss, se in group.occurrences:
            if doc_id not in position:
                raise DynCleanError(f"group {gid}: doc {doc_id} is not in the corpus")
            p = position[doc_id]
            row = int(bases[p]) + candidate_row(s, e, len(docs[p]), evidence.max_span_length)
            kind_flags = positive if group.kind == "positive" else negative
            if choice == "reject" or (choice == "remove" and group.kind == "negative"):
                kind_flags[row] = False
                continue
            kind_flags[row] = True
            if choice == "remove":
                label, span = n_labels, (s, e)
            elif choice.startswith("relabel:"):
                label, span = labels.index(choice.split(":", 1)[1]), (ss, se)
            else:  # accept: the suggestion shown
                shown = suggested_label(group)
                label = labels.index(shown) if shown in labels else (n_labels if group.action == "remove" else -1)
                span = (ss, se)
            rows_out.append((row if group.kind == "positive" else -1, p, span[0], span[1], label, 2.0))
    review = Suspicion.none(len(samples))
    review.proposals = Proposals.from_rows(rows_out)
    return Flags(positive, negative, flags.protected_negatives, flags.votes, list(flags.warnings)), review
