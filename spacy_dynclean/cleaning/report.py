"""The report of a cleaning: the JSON record of every detector's flags, the
decision and every change, and its short Markdown twin."""
from collections import Counter
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy
from spacy.tokens import Doc

from spacy_dynclean.cleaning.contract import Cleaned, CleanStats, Flags, Suspicion
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


def decision_row(decision: Decision, trusted: Dict[str, List[str]]) -> Dict[str, Any]:
    """The decision's settings that explain the flags, and whom it trusted."""
    return {"positives": decision.positives, "negatives": decision.negatives,
            "positive_rule": decision.positive_rule, "negative_rule": decision.negative_rule,
            "hand_off": decision.hand_off, "trusted": trusted}


@dataclass
class Tally:
    """What a cleaning's report counts, for the whole corpus or one batch;
    `add` sums a batch into the cleaning's (see the report's keys)."""

    samples: int = 0
    positives: int = 0
    negatives: int = 0
    candidate_negatives: int = 0
    detectors: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    summed: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    flagged_positives: int = 0
    flagged_negatives: int = 0
    protected_negatives: int = 0
    negatives_in_corpus: int = 0
    per_label: Dict[str, Dict[str, int]] = field(default_factory=dict)
    label_counts: Optional[numpy.ndarray] = None
    stats: CleanStats = field(default_factory=CleanStats)
    entities_too_long: int = 0
    trusted: Dict[str, List[str]] = field(default_factory=dict)
    rows_positive: List[int] = field(default_factory=list)
    rows_negative: List[int] = field(default_factory=list)
    #: the decision's and detectors' warnings, in order, each once (not those made from counts)
    warnings: List[str] = field(default_factory=list)

    @classmethod
    def of(cls, evidence: Evidence, suspicions: Dict[str, Suspicion], flags: Flags, cleaned: Cleaned,
           warnings: List[str]) -> "Tally":
        """The counts of one cleaning (or batch) of `evidence`; rows are the whole table's."""
        samples = evidence.samples
        real = ~samples.threshold
        return cls(
            samples=int(real.sum()), positives=int((samples.positive & real).sum()),
            negatives=int((~samples.positive & real).sum()),
            candidate_negatives=int((samples.candidates & ~samples.positive).sum()),
            detectors=detector_rows(evidence, suspicions),
            summed={name: s.summed for name, s in suspicions.items()},
            flagged_positives=int(flags.positive.sum()), flagged_negatives=int(flags.negative.sum()),
            protected_negatives=flags.protected_negatives,
            negatives_in_corpus=negatives_in_corpus(evidence, cleaned.docs), per_label=label_rows(evidence, flags),
            label_counts=flags.label_counts, stats=cleaned.stats,
            entities_too_long=int(samples.meta.get("gold_spans_too_long", 0)), trusted=flags.trusted,
            rows_positive=evidence.table_rows(flags.positive.nonzero()[0]).tolist(),
            rows_negative=evidence.table_rows(flags.negative.nonzero()[0]).tolist(),
            warnings=list(dict.fromkeys(warnings)),
        )

    def add(self, part: "Tally") -> None:
        """Add a batch's counts (the entities too long to be samples are the
        recording's count, of the whole corpus)."""
        if not self.detectors:
            self.detectors, self.summed, self.trusted = part.detectors, part.summed, part.trusted
            self.stats, self.per_label = CleanStats(strategy=part.stats.strategy), part.per_label
            part_stats, self.label_counts = part.stats, part.label_counts
            self.entities_too_long = part.entities_too_long
        else:
            for name, row in part.detectors.items():
                mine = self.detectors[name]
                for key in dict.fromkeys(("flagged_positives", "flagged_negatives", "proposals", *self.summed[name])):
                    mine[key] = mine.get(key, 0) + row.get(key, 0)
            for label, row in part.per_label.items():
                for key in row:
                    self.per_label[label][key] += row[key]
            if part.label_counts is not None and self.label_counts is not None:
                self.label_counts = self.label_counts + part.label_counts
            part_stats = part.stats
        for key in ("samples", "positives", "negatives", "candidate_negatives", "flagged_positives",
                    "flagged_negatives", "protected_negatives", "negatives_in_corpus"):
            setattr(self, key, getattr(self, key) + getattr(part, key))
        for key in ("docs_in", "docs_out", "docs_dropped", "positives_removed", "positives_relabelled",
                    "negatives_masked", "negatives_relabelled", "masked_tokens"):
            setattr(self.stats, key, getattr(self.stats, key) + getattr(part_stats, key))
        self.stats.changes = dict(Counter(self.stats.changes) + Counter(part_stats.changes)) \
            if part_stats.changes or self.stats.changes else {}
        self.rows_positive += part.rows_positive
        self.rows_negative += part.rows_negative
        self.warnings = list(dict.fromkeys([*self.warnings, *part.warnings]))


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


