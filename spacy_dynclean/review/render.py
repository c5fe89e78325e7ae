"""The review's files for a person: an offline HTML page (displaCy), Prodigy
span tasks and the groups with the config that made them."""
import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from spacy.tokens import Doc

from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.review import label_studio
from spacy_dynclean.recording.samples import corpus_fingerprint
from spacy_dynclean.review.groups import FORMAT, Group, describe, suggested_label
from spacy_dynclean.util import write_json

SPAN_COLORS = {"→O": "#e0e0e0", "→?": "#f6d365"}


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


#: The files `review` writes into its folder (other files there are left alone).
REVIEW_FILES = ("review.html", "tasks.jsonl", "groups.json", "label-studio.json", "label-studio.xml")


def write_review(evidence: Evidence, groups: List[Group], config_text: str, paths: Dict[str, Path], *,
                 examples: int = 3, max_groups: Optional[int] = None) -> Dict[str, int]:
    """`write_files` of a review of the corpus `evidence` holds."""
    docs_by_id = {did: doc for did, doc in zip(evidence.samples.doc_ids, evidence.docs_by_position())}
    samples = evidence.samples
    return write_files(ReviewOf(evidence.corpus, samples.labels, docs_by_id,
                                corpus_fingerprint(evidence.docs, samples.spans_key, samples.ignore_key)),
                       groups, config_text, paths, examples=examples, max_groups=max_groups)


@dataclass
class ReviewOf:
    """The corpus a review shows: its path, labels, fingerprint and the docs
    its pages show (at least those of the groups' first `examples` occurrences)."""

    corpus: Path
    labels: List[str]
    docs_by_id: Dict[str, Doc]
    fingerprint: str


def shown_ids(groups: List[Group], examples: int, max_groups: Optional[int]) -> Set[str]:
    """The doc ids a review's pages show."""
    shown = groups[:max_groups] if max_groups else groups
    return {occurrence[0] for g in shown for occurrence in g.occurrences[:max(examples, 1)]}


def write_files(review: ReviewOf, groups: List[Group], config_text: str, paths: Dict[str, Path], *,
                examples: int = 3, max_groups: Optional[int] = None) -> Dict[str, int]:
    """review.html, tasks.jsonl (Prodigy), label-studio.json and .xml and
    groups.json to `paths` (by those names: the temporary paths of a
    transaction)."""
    docs_by_id = review.docs_by_id
    shown = groups[:max_groups] if max_groups else groups
    paths["review.html"].write_text(render_html(shown, docs_by_id, examples=examples,
                                                title=f"spacy-dynclean review of {review.corpus}"), encoding="utf8")
    with open(paths["tasks.jsonl"], "w", encoding="utf8") as f:
        for group in shown:
            task = task_of(group, docs_by_id[group.occurrences[0][0]], group.occurrences[0])
            f.write(json.dumps(task, ensure_ascii=False) + "\n")
    write_json(paths["label-studio.json"], [label_studio.task_of(g, docs_by_id[g.occurrences[0][0]]) for g in shown])
    paths["label-studio.xml"].write_text(label_studio.labeling_config(review.labels), encoding="utf8")
    write_json(paths["groups.json"], {
        "format": FORMAT, "corpus": str(review.corpus), "fingerprint": review.fingerprint,
        "labels": review.labels, "config": config_text, "groups": [asdict(g) for g in groups],
    })
    return {"groups": len(groups), "shown": len(shown), "occurrences": sum(len(g.occurrences) for g in groups)}
