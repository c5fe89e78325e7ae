"""`clean`: dynamics -> scores -> thresholds -> flags -> cleaned corpus + report."""
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from .convert import read_docbin, write_docbin
from .dynamics import Dynamics
from .filter import (
    STRATEGIES, Flags, check_matches, check_pair, clean_docs, flag_samples, majority_warnings, volume_warnings,
)
from .heldout import FormEvidence, flag_forms
from .report import write_report
from .samples import overlaps_positive
from .scores import RANKINGS, compute_scores, resolve_k
from .thresholds import METHODS, Thresholds, from_fraction, from_mixture, from_threshold_samples
from .util import DynCleanError, PathLike, check_not_input


POSITIVE_SOURCES = ("auto", "dynamics", "heldout", "both")


def resolve_positive_source(source: str, has_evidence: bool) -> str:
    """`auto`: held-out evidence when there is some, else the dynamics. On the
    CPU backbones measured, dynamics do not rank positives (AUROC below 0.5 on
    wiki) and their threshold swung from 196 to 581 flags between seeds, while
    the held-out evidence flagged about 490 at precision 0.97 on every seed."""
    if source == "auto":
        return "heldout" if has_evidence else "dynamics"
    if source in ("heldout", "both") and not has_evidence:
        raise DynCleanError(f"positive_source {source!r} needs held-out evidence (--heldout)")
    return source


@dataclass
class CleanSettings:
    """How to decide. See the README for why the defaults are the defaults."""

    method: str = "threshold-samples"
    ranking: str = "aum"
    k: Union[int, str, None] = "auto"
    positive_percentile: float = 100.0
    negative_percentile: float = 75.0
    per_label: bool = False
    positive_fraction: float = 0.0
    negative_fraction: float = 0.0
    protect_overlaps: bool = True
    max_label_fraction: Optional[float] = None
    strategy: str = "remove"
    clean_positives: bool = True
    clean_negatives: bool = True
    # what flags positives: "auto" (held-out evidence when given, else dynamics),
    # "dynamics", "heldout" or "both"
    positive_source: str = "auto"
    # held-out evidence (used only when `clean` gets an evidence file)
    heldout_min_predicted: int = 1
    heldout_max_precision: float = 0.0
    heldout_negatives: bool = True
    heldout_min_missed_share: float = 0.5

    def validate(self) -> None:
        if self.method not in METHODS:
            raise DynCleanError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.ranking not in RANKINGS:
            raise DynCleanError(f"ranking must be one of {RANKINGS}, not {self.ranking!r}")
        if self.strategy not in STRATEGIES:
            raise DynCleanError(f"strategy must be one of {STRATEGIES}, not {self.strategy!r}")
        if self.k != "auto" and self.k is not None and (not isinstance(self.k, int) or self.k < 0):
            raise DynCleanError(f"k must be 'auto', 0 (all epochs) or a positive number, not {self.k!r}")
        for name in ("positive_percentile", "negative_percentile"):
            if not 0 <= getattr(self, name) <= 100:
                raise DynCleanError(f"{name} must be in 0..100, not {getattr(self, name)}")
        if self.max_label_fraction is not None and not 0 <= self.max_label_fraction <= 1:
            raise DynCleanError(f"max_label_fraction must be in 0..1, not {self.max_label_fraction}")
        if self.positive_source not in POSITIVE_SOURCES:
            raise DynCleanError(f"positive_source must be one of {POSITIVE_SOURCES}, not {self.positive_source!r}")
        if self.heldout_min_predicted < 1:
            raise DynCleanError(f"heldout_min_predicted must be at least 1, not {self.heldout_min_predicted}")
        for name in ("heldout_max_precision", "heldout_min_missed_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise DynCleanError(f"{name} must be in 0..1, not {getattr(self, name)}")


def estimate_thresholds(
    dynamics: Dynamics, scores: Any, settings: CleanSettings,
    threshold_dynamics: Optional[Dynamics], k: Optional[int] = None, has_evidence: bool = False,
) -> Thresholds:
    """Thresholds by `settings.method`; `k` is the resolved number of epochs
    (default: resolved from the settings). The positive threshold is off when
    positives are flagged by held-out evidence alone."""
    k = resolve_k(dynamics, settings.k) if k is None else k
    candidates = dynamics.candidates
    if settings.method == "threshold-samples":
        if threshold_dynamics is None:
            raise DynCleanError("method 'threshold-samples' needs --threshold-dynamics (a threshold-sample run)")
        if threshold_dynamics.n_epochs < k:
            raise DynCleanError(
                f"the threshold run recorded {threshold_dynamics.n_epochs} epochs, but k={k} "
                "epochs are averaged: train it for at least k epochs"
            )
        thresholds = from_threshold_samples(
            threshold_dynamics, k=k, positive_percentile=settings.positive_percentile,
            negative_percentile=settings.negative_percentile, per_label=settings.per_label,
            ranking=settings.ranking,
        )
    elif settings.method == "mixture":
        thresholds = from_mixture(scores, dynamics.positive, candidates)
    else:
        thresholds = from_fraction(
            scores, dynamics.positive, candidates, positive_fraction=settings.positive_fraction,
            negative_fraction=settings.negative_fraction,
        )
    if not settings.clean_positives or resolve_positive_source(settings.positive_source, has_evidence) == "heldout":
        thresholds.positive = float("-inf")
        thresholds.positive_per_label = {}
    if not settings.clean_negatives:
        thresholds.negative = float("-inf")
    return thresholds


def add_heldout_flags(
    dynamics: Dynamics, docs: List[Doc], evidence: FormEvidence, flags: Flags, settings: CleanSettings,
) -> Dict[str, Any]:
    """Add the samples flagged by held-out evidence to `flags` (in place);
    return what they added, for the report."""
    pos, neg = flag_forms(
        dynamics, docs, evidence, min_predicted=settings.heldout_min_predicted,
        max_precision=settings.heldout_max_precision,
        negatives=settings.heldout_negatives and settings.clean_negatives,
        min_missed_share=settings.heldout_min_missed_share,
    )
    candidate = dynamics.candidates
    use_positives = resolve_positive_source(settings.positive_source, True) != "dynamics"
    pos &= candidate & settings.clean_positives & use_positives
    neg &= candidate
    if settings.protect_overlaps and neg.any():
        neg &= ~overlaps_positive(dynamics.doc, dynamics.start, dynamics.end, dynamics.positive)
    added_pos = int((pos & ~flags.positive).sum())
    added_neg = int((neg & ~flags.negative).sum())
    flags.positive |= pos
    flags.negative |= neg
    warned = {label for label in dynamics.labels if any(w.startswith(f"{label}:") for w in flags.warnings)}
    flags.warnings += majority_warnings(dynamics, flags.positive, skip=warned)
    msg.info(f"Held-out evidence ({evidence.docs:,} dev docs) flagged {int(pos.sum()):,} positives "
             f"({added_pos:,} new) and {int(neg.sum()):,} negatives ({added_neg:,} new)")
    return {
        "evidence": evidence.meta, "dev_docs": evidence.docs,
        "wrong_forms": len(evidence.wrong_forms(settings.heldout_min_predicted, settings.heldout_max_precision)),
        "missed_forms": len(evidence.missed_forms(min_missed_share=settings.heldout_min_missed_share)),
        "flagged_positives": int(pos.sum()), "flagged_negatives": int(neg.sum()),
        "added_positives": added_pos, "added_negatives": added_neg,
    }


def run_clean(
    corpus_path: PathLike, dynamics_dir: PathLike, output_path: PathLike, *,
    threshold_dir: Optional[PathLike] = None, report_path: Optional[PathLike] = None,
    settings: Optional[CleanSettings] = None, heldout_path: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Clean `corpus_path` with the dynamics of a run on it (and, when
    `heldout_path` is given, the held-out evidence of that run's pipeline on
    a gold dev set); write the cleaned DocBin and the report (JSON +
    Markdown). Nothing is written when an input is wrong."""
    settings = settings or CleanSettings()
    settings.validate()
    check_not_input(output_path, corpus_path)
    report_path = Path(report_path) if report_path else Path(output_path).with_suffix(".report.json")
    check_not_input(report_path, corpus_path)
    t0 = time.time()
    dynamics = Dynamics.from_disk(dynamics_dir)
    threshold_dynamics = Dynamics.from_disk(threshold_dir) if threshold_dir else None
    evidence = FormEvidence.from_disk(heldout_path) if heldout_path else None
    if threshold_dynamics is not None:
        check_pair(dynamics, threshold_dynamics)
    docs = read_docbin(corpus_path, Vocab())
    if not docs:
        raise DynCleanError(f"{corpus_path}: empty corpus")
    check_matches(dynamics, docs, str(corpus_path))
    msg.info(f"Loaded {len(docs):,} docs and {len(dynamics):,} samples x {dynamics.n_epochs} epochs "
             f"({time.time() - t0:.1f}s)")
    k = resolve_k(dynamics, settings.k)
    sample_scores = compute_scores(dynamics, k)
    scores = sample_scores.ranking(settings.ranking)
    positive_source = resolve_positive_source(settings.positive_source, evidence is not None)
    thresholds = estimate_thresholds(dynamics, scores, settings, threshold_dynamics, k, evidence is not None)
    flags = flag_samples(
        dynamics, scores, thresholds, protect_overlaps=settings.protect_overlaps,
        max_label_fraction=settings.max_label_fraction,
    )
    heldout_report: Optional[Dict[str, Any]] = None
    if evidence is not None:
        heldout_report = add_heldout_flags(dynamics, docs, evidence, flags, settings)
    msg.info(f"Flagged {int(flags.positive.sum()):,} positives and {int(flags.negative.sum()):,} negatives "
             f"({time.time() - t0:.1f}s)")
    cleaned, stats = clean_docs(docs, dynamics, flags, strategy=settings.strategy, k=k)
    flags.warnings += volume_warnings(dynamics, flags, stats)
    if not cleaned:
        raise DynCleanError("cleaning would drop every doc: nothing written")
    write_docbin(cleaned, output_path)
    per_label = {
        label: {
            "positives": int(((dynamics.label == j) & dynamics.positive & ~dynamics.threshold).sum()),
            "flagged": int(((dynamics.label == j) & flags.positive).sum()),
        }
        for j, label in enumerate(dynamics.labels)
    }
    real = ~dynamics.threshold
    report: Dict[str, Any] = {
        "input": str(corpus_path),
        "output": str(output_path),
        "dynamics": str(dynamics_dir),
        "threshold_dynamics": str(threshold_dir) if threshold_dir else None,
        "samples": int(real.sum()),
        "positives": int((dynamics.positive & real).sum()),
        "negatives": int((~dynamics.positive & real).sum()),
        "threshold_samples": int(threshold_dynamics.threshold.sum()) if threshold_dynamics is not None
        else int(dynamics.threshold.sum()),
        "epochs_recorded": dynamics.n_epochs,
        "k": sample_scores.k,
        "ranking": settings.ranking,
        "thresholds": thresholds.to_dict(),
        "flagged_positives": int(flags.positive.sum()),
        "flagged_negatives": int(flags.negative.sum()),
        "protected_negatives": flags.protected_negatives,
        "heldout": heldout_report,
        "positive_source": positive_source if settings.clean_positives else None,
        "per_label": per_label,
        "strategy": settings.strategy,
        **asdict(stats),
        "gold_spans_too_long": int(dynamics.meta.get("gold_spans_too_long", 0)),
        "settings": asdict(settings),
        "warnings": flags.warnings,
        "seconds": round(time.time() - t0, 2),
    }
    md = write_report(report, report_path)
    msg.good(f"Wrote {stats.docs_out:,} docs to {output_path} ({stats.docs_dropped} dropped); "
             f"report: {report_path}, {md} ({time.time() - t0:.1f}s)")
    for w in flags.warnings:
        msg.warn(w)
    return report

