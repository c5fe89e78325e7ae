"""The report of a cleaning: the JSON record of every detector's flags, the
decision and every change, and its short Markdown twin."""
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy
from spacy.tokens import Doc

from spacy_dynclean.cleaning.contract import Flags, Suspicion
from spacy_dynclean.cleaning.decision import Decision
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.recording.samples import changed_non_entities, doc_id


def jsonable(value: Any) -> Any:
    """Dataclasses, numpy scalars and paths as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def negatives_in_corpus(evidence: Evidence, cleaned: List[Doc]) -> int:
    """`changed_non_entities` over the corpus: the audit's count of flagged negatives, without gold."""
    by_id = {doc_id(d): d for d in cleaned}
    samples = evidence.samples
    return sum(changed_non_entities(d, by_id.get(doc_id(d)), evidence.max_span_length, samples.spans_key,
                                    samples.ignore_key) for d in evidence.docs)


def detector_rows(evidence: Evidence, suspicions: Dict[str, Suspicion]) -> Dict[str, Dict[str, Any]]:
    """Per detector: what it flagged among the candidates, and its details."""
    samples = evidence.samples
    candidate = samples.candidates
    return {name: {"flagged_positives": int((s.positive & candidate & samples.positive).sum()),
                   "flagged_negatives": int((s.negative & candidate & ~samples.positive).sum()),
                   "proposals": len(s.proposals), **jsonable(s.details)}
            for name, s in suspicions.items()}


def label_rows(evidence: Evidence, flags: Flags) -> Dict[str, Dict[str, int]]:
    """Per label: its distant entities and how many were flagged."""
    samples = evidence.samples
    real = ~samples.threshold
    return {label: {"positives": int(((samples.label == j) & samples.positive & real).sum()),
                    "flagged": int(((samples.label == j) & flags.positive).sum())}
            for j, label in enumerate(samples.labels)}


def decision_row(decision: Decision, flags: Flags) -> Dict[str, Any]:
    """The decision's settings that explain the flags, and whom it trusted."""
    return {"positives": decision.positives, "negatives": decision.negatives,
            "positive_rule": decision.positive_rule, "negative_rule": decision.negative_rule,
            "hand_off": decision.hand_off, "trusted": flags.trusted}


def markdown_summary(report: Dict[str, Any]) -> str:
    """A few lines a person reads first."""

    def fmt(x: Optional[float]) -> str:
        return "none" if x is None else f"{x:.3f}"

    lines = [
        "# spacy-dynclean cleaning report",
        "",
        f"- input: `{report['input']}` -> output: `{report['output']}` (config `{report['config']}`)",
        f"- samples: {report['samples']:,} ({report['positives']:,} positives, "
        f"{report['negatives']:,} negatives); epochs recorded: {report['epochs_recorded']}",
    ]
    for name, d in report.get("detectors", {}).items():
        extra = ""
        t = d.get("thresholds")
        if t:
            extra = f"; k = {d.get('k')}, thresholds: positives {fmt(t.get('positive'))}, " \
                    f"negatives {fmt(t.get('negative'))}"
        lines.append(f"- detector `{name}`: {d['flagged_positives']:,} positives, {d['flagged_negatives']:,} "
                     f"negatives flagged{extra}")
    dec = report.get("decision", {})
    lines += [
        f"- decision: positives from {dec.get('positives')} ({dec.get('positive_rule')}), negatives from "
        f"{dec.get('negatives')} ({dec.get('negative_rule')})",
        *trusted_line(dec),
        f"- flagged positives: {report['flagged_positives']:,}; flagged negatives: "
        f"{report['flagged_negatives']:,} ({report['protected_negatives']:,} more spared "
        "for overlapping a distant entity)",
        f"- strategy: {report.get('strategy')}; docs in: {report['docs_in']:,}, docs out: "
        f"{report['docs_out']:,} (dropped: {report['docs_dropped']:,})",
    ]
    changes = report.get("changes")
    if changes:
        lines.append("- changes: " + ", ".join(f"{k} {v:,}" for k, v in changes.items()))
    if "negatives_in_corpus" in report:
        lines.append(f"- non-entity spans masked or made entities in the corpus written: "
                     f"{report['negatives_in_corpus']:,} (what `audit` counts as flagged negatives; more than the "
                     "flagged negatives where an entity is re-bounded or added, its new span, or a region masked, "
                     "every span in it)")
    lines.append(f"- entities of the training labels too long to be candidates: {report['entities_too_long']:,}")
    for w in report.get("warnings", []):
        lines.append(f"- **warning**: {w}")
    return "\n".join(lines) + "\n"


def trusted_line(decision: Dict[str, Any]) -> List[str]:
    """The signals the decision trusted on this corpus, where a detector abstained."""
    trusted = decision.get("trusted") or {}
    abstained = [n for kind in ("positives", "negatives") for n in decision.get(kind) or []
                 if n not in trusted.get(kind, [])]
    if not abstained:
        return []
    return [f"- signals trusted on this corpus: positives from {trusted.get('positives')}, negatives from "
            f"{trusted.get('negatives')} ({', '.join(sorted(set(abstained)))} abstained)"]


