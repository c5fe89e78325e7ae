"""Suspect labels grouped for a person: flagged samples that share a surface
form, a distant label and a suggested action, ranked by expected gain.

Distant errors repeat: one decision on "The" as MISC settles every one of
its occurrences.
"""
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy

from spacy_dynclean.cleaning.contract import Flags, Suspicion
from spacy_dynclean.cleaning.decision import Decision
from spacy_dynclean.cleaning.strategies import Change, suggestions
from spacy_dynclean.evidence.bundle import Evidence

#: The format of a review's groups.json.
FORMAT = "spacy-dynclean.review.v1"


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


@dataclass
class Flagged:
    """One decided flag as the review groups it: its group's key, its
    occurrence, its detectors' vote, those that fired, and its row of the
    sample table (a review in batches orders the flags of every batch by it)."""

    key: Tuple[str, Optional[str], str, str]  # form, label, action, kind
    occurrence: List[Any]
    vote: float
    fired: List[str]
    row: int


def flagged_samples(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], decision: Decision
                    ) -> List[Flagged]:
    """Every decided flag of `evidence` (the corpus or a batch), as `build_groups` groups it."""
    samples = evidence.samples
    labels = samples.labels
    docs = evidence.docs_by_position()
    replace, span_labels = suggestions(evidence, flags, suspicions, decision.detectors)
    # the right span of a re-bounded entity is flagged as a missed entity too: one group shows both
    replaced_by = {(int(samples.doc[r]), c.start, c.end) for r, c in replace.items()}
    positive = samples.positive  # computed once: the property builds the corpus-wide mask
    rows = numpy.nonzero(flags.any)[0]
    out: List[Flagged] = []
    for row, table_row in zip(rows.tolist(), evidence.table_rows(rows).tolist()):
        d, s, e = int(samples.doc[row]), int(samples.start[row]), int(samples.end[row])
        kind = "positive" if positive[row] else "negative"
        if kind == "negative" and (d, s, e) in replaced_by:
            continue
        label = labels[int(samples.label[row])] if kind == "positive" else None
        change = replace.get(row)
        action = action_of(kind, change, (s, e), span_labels.get((d, s, e), -1), labels)
        names = decision.positives if kind == "positive" else decision.negatives
        names = flags.trusted.get(f"{kind}s", names)  # a detector that abstained does not dilute the others
        fired = [n for n in names if (suspicions[n].positive if kind == "positive" else suspicions[n].negative)[row]]
        ss, se = (change.start, change.end) if change is not None and action.startswith("rebound") else (s, e)
        out.append(Flagged((docs[d][s:e].text, label, action, kind), [samples.doc_ids[d], s, e, ss, se],
                           len(fired) / max(len(names), 1), fired, table_row))
    return out


def build_groups(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], decision: Decision
                 ) -> List[Group]:
    """Group the decided flags and rank the groups by expected gain."""
    return group_flags(flagged_samples(evidence, flags, suspicions, decision))


def group_flags(flagged: List[Flagged]) -> List[Group]:
    """Groups of the flags (in the sample table's order), ranked by expected gain."""
    groups: Dict[Tuple[str, Optional[str], str], Group] = {}
    votes: Dict[Tuple[str, Optional[str], str], List[float]] = defaultdict(list)
    signals: Dict[Tuple[str, Optional[str], str], Counter] = defaultdict(Counter)
    for flag in sorted(flagged, key=lambda f: f.row):
        form, label, action, kind = flag.key
        key = (form, label, action)
        if key not in groups:
            gid = hashlib.sha1(json.dumps(key).encode("utf8")).hexdigest()[:10]
            groups[key] = Group(gid, form, label, action, kind)
        groups[key].occurrences.append(flag.occurrence)
        votes[key].append(flag.vote)
        signals[key].update(flag.fired)
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


def decision_of_span(group: Group, span: Optional[Tuple[int, int]], label: Optional[str]) -> str:
    """A reviewer's one span on a group's first occurrence (None: no span), as
    a decision: no span removes the entity (accepts a suggested removal); the
    suggested span keeps (accept) or changes (relabel) its label; the distant
    span with the distant label rejects; other bounds are kept relative to
    each occurrence's distant span."""
    if span is None:
        return "accept" if group.action in ("remove", "mask") else "remove"
    _, s, e, ss, se = group.occurrences[0]
    if span == (ss, se):
        return "accept" if label == suggested_label(group) else f"relabel:{label}"
    if span == (s, e) and label == group.label:
        return "reject"
    return f"bounds:{span[0] - s}:{span[1] - e}:{label}"


def describe(group: Group) -> str:
    what = group.label if group.label else "not labelled"
    verbs = {"remove": "make it a non-entity", "mask": "mask it (no label known)"}
    if group.action in verbs:
        return f"{group.form!r} ({what}): {verbs[group.action]}"
    verb, label = group.action.split(":", 1)
    words = {"relabel": f"relabel as {label}", "rebound": f"replace by the longer span, {label}",
             "add": f"add as {label}"}
    return f"{group.form!r} ({what}): {words[verb]}"
