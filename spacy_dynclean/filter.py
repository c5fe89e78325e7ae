"""Flag suspect samples and write the cleaned corpus.

A flagged positive (suspected wrong or spurious entity) leaves `doc.ents` and
the span group; every flagged sample goes into the ignore span group (the
span component learns it neither as entity nor as non-entity) and its tokens
become *missing* in `doc.ents` (so spaCy's stock `ner` can train on partial
annotation). With `strategy="relabel"`, a sample whose model prediction was
stable takes the predicted label instead (an entity, or dropped to
non-entity), and only the rest are masked.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

import numpy
from spacy.tokens import Doc, Span

from .dynamics import Dynamics
from .samples import corpus_fingerprint, doc_id, gold_spans, overlaps_positive
from .thresholds import Thresholds
from .util import DynCleanError

STRATEGIES = ("remove", "relabel")


@dataclass
class Flags:
    """Flagged rows of the real dynamics, and why."""

    positive: numpy.ndarray  # bool per sample
    negative: numpy.ndarray  # bool per sample
    protected_negatives: int = 0
    warnings: List[str] = field(default_factory=list)

    @property
    def any(self) -> numpy.ndarray:
        return self.positive | self.negative


def flag_samples(
    dynamics: Dynamics, scores: numpy.ndarray, thresholds: Thresholds, *,
    protect_overlaps: bool = True, max_label_fraction: Optional[float] = None,
    majority_warning: float = 0.5,
) -> Flags:
    """Flag samples scoring below their kind's threshold.

    Threshold samples and already-ignored samples are never flagged. With
    `protect_overlaps`, a negative that shares a token with a distant entity
    (a sub-, super- or shifted span) is never flagged: such spans have low
    margins by nature and teach the model where entities end.
    `max_label_fraction` caps the flagged share of a label's positives
    (lowest scores first); flagging more than `majority_warning` of a label
    adds a warning.
    """
    n_labels = len(dynamics.labels)
    candidate = dynamics.candidates
    positive = dynamics.positive
    pos_thr = thresholds.for_positives(dynamics.labels, numpy.minimum(dynamics.label, n_labels - 1))
    flag_pos = candidate & positive & (scores < pos_thr)
    flag_neg = candidate & ~positive & (scores < thresholds.negative)
    protected = 0
    if protect_overlaps and flag_neg.any():
        over = overlaps_positive(dynamics.doc, dynamics.start, dynamics.end, positive) & flag_neg
        protected = int(over.sum())
        flag_neg &= ~over
    warnings: List[str] = []
    for j, label in enumerate(dynamics.labels):
        rows = numpy.nonzero(candidate & positive & (dynamics.label == j))[0]
        if not len(rows):
            continue
        flagged = rows[flag_pos[rows]]
        if max_label_fraction is not None and len(flagged) > max_label_fraction * len(rows):
            keep_n = int(max_label_fraction * len(rows))
            order = flagged[numpy.argsort(scores[flagged], kind="stable")]
            flag_pos[order[keep_n:]] = False
            warnings.append(
                f"{label}: {len(flagged)} of {len(rows)} positives were below the threshold; "
                f"capped at {keep_n} (max_label_fraction={max_label_fraction})"
            )
    warnings += majority_warnings(dynamics, flag_pos, majority_warning)
    return Flags(flag_pos, flag_neg, protected, warnings)


def majority_warnings(
    dynamics: Dynamics, flag_pos: numpy.ndarray, majority: float = 0.5, skip: Iterable[str] = (),
) -> List[str]:
    """A warning per label (except those in `skip`) with more than
    `majority` of its positives flagged."""
    skip = set(skip)
    warnings: List[str] = []
    real_positive = dynamics.candidates & dynamics.positive
    for j, label in enumerate(dynamics.labels):
        of_label = real_positive & (dynamics.label == j)
        n_flagged, n_label = int((flag_pos & of_label).sum()), int(of_label.sum())
        if label not in skip and n_label and n_flagged > majority * n_label:
            warnings.append(f"{label}: {n_flagged} of {n_label} positives flagged (most of the label)")
    return warnings


def volume_warnings(
    dynamics: Dynamics, flags: Flags, stats: "CleanStats", *, max_negative_share: float = 0.1,
    max_dropped_share: float = 0.1,
) -> List[str]:
    """Warnings when cleaning masks a large share of the non-entity spans or
    drops many docs (every token masked): both usually mean thresholds that
    fell inside margins recorded before the model learned anything (k too
    small, or a recording run too short), and a dropped doc's negatives are
    lost to retraining."""
    warnings: List[str] = []
    negatives = int((dynamics.candidates & ~dynamics.positive).sum())  # candidates: real, not ignored
    flagged = int(flags.negative.sum())
    if negatives and flagged > max_negative_share * negatives:
        warnings.append(
            f"{flagged:,} of {negatives:,} negatives flagged ({flagged / negatives:.0%}): the threshold may lie "
            "inside margins recorded before the model learned (try a larger k or longer recording run)"
        )
    if stats.docs_in and stats.docs_dropped > max_dropped_share * stats.docs_in:
        warnings.append(
            f"{stats.docs_dropped:,} of {stats.docs_in:,} docs dropped ({stats.docs_dropped / stats.docs_in:.0%}, "
            "every token masked): their negatives are lost to retraining"
        )
    return warnings


def check_matches(dynamics: Dynamics, docs: List[Doc], where: str) -> None:
    """Refuse dynamics recorded on another corpus."""
    ids = set(dynamics.doc_ids)
    for i, doc in enumerate(docs):
        did = doc_id(doc, f"{where}: doc {i}")
        if did not in ids:
            raise DynCleanError(f"{where}: doc {i} (id {did}) is not in the dynamics: other corpus?")
    if len(docs) != len(ids):
        raise DynCleanError(f"{where}: {len(docs)} docs, the dynamics have {len(ids)}")
    if corpus_fingerprint(docs, dynamics.spans_key, dynamics.ignore_key) != dynamics.meta.get("fingerprint"):
        raise DynCleanError(f"{where}: the corpus fingerprint differs from the dynamics' (other labels or tokens?)")


def check_pair(real: Dynamics, threshold: Dynamics) -> None:
    """The threshold run must be on the same corpus and labels."""
    if real.labels != threshold.labels:
        raise DynCleanError(f"threshold dynamics have labels {threshold.labels}, the dynamics {real.labels}")
    if real.meta.get("fingerprint") != threshold.meta.get("fingerprint"):
        raise DynCleanError("threshold dynamics were recorded on another corpus (fingerprints differ)")


def stable_prediction(dynamics: Dynamics, rows: numpy.ndarray, k: int, min_agreement: float = 1.0):
    """Predicted column of each row over the first k epochs, or -1 when the
    prediction changed more often than `min_agreement` allows."""
    pred = dynamics.pred[rows, :k].astype("int64")
    out = numpy.full(len(rows), -1, dtype="int64")
    for i, row in enumerate(pred):
        value, count = Counter(row.tolist()).most_common(1)[0]
        if count >= min_agreement * len(row):
            out[i] = value
    return out


@dataclass
class CleanStats:
    docs_in: int = 0
    docs_out: int = 0
    docs_dropped: int = 0
    positives_removed: int = 0
    positives_relabelled: int = 0
    negatives_masked: int = 0
    negatives_relabelled: int = 0
    masked_tokens: int = 0


def clean_docs(
    docs: List[Doc], dynamics: Dynamics, flags: Flags, *, strategy: str = "remove",
    k: Optional[int] = None,
) -> Tuple[List[Doc], CleanStats]:
    """Apply the flags to copies of the docs (see the module docstring)."""
    if strategy not in STRATEGIES:
        raise DynCleanError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    spans_key, ignore_key = dynamics.spans_key, dynamics.ignore_key
    n_labels = len(dynamics.labels)
    rows = numpy.nonzero(flags.any)[0]
    new_label = numpy.full(len(rows), -1, dtype="int64")
    if strategy == "relabel" and len(rows):
        k = dynamics.n_epochs if k is None else min(k, dynamics.n_epochs)
        stable = stable_prediction(dynamics, rows, k)
        changed = (stable >= 0) & (stable != dynamics.label[rows])
        new_label[changed] = stable[changed]
    by_doc: Dict[int, List[Tuple[int, int, int, int]]] = defaultdict(list)
    for row, lab in zip(rows, new_label):
        by_doc[int(dynamics.doc[row])].append((int(dynamics.start[row]), int(dynamics.end[row]),
                                               int(dynamics.label[row]), int(lab)))
    pos_of = {d: i for i, d in enumerate(dynamics.doc_ids)}
    stats = CleanStats(docs_in=len(docs))
    out: List[Doc] = []
    for doc in docs:
        new = doc.copy()
        items = by_doc.get(pos_of[doc_id(doc)], [])
        if not items:
            out.append(new)
            continue
        ents = {(s.start, s.end): s.label_ for s in gold_spans(doc, spans_key)}
        ignored = [(s.start, s.end) for s in doc.spans.get(ignore_key, [])]
        masked: List[Tuple[int, int]] = []
        added: List[Tuple[int, int, str]] = []
        for start, end, old, lab in sorted(items, key=lambda x: (x[0], x[1])):
            is_pos = old < n_labels
            if is_pos:
                ents.pop((start, end), None)
            if lab >= 0 and lab < n_labels:
                added.append((start, end, dynamics.labels[lab]))
                stats.positives_relabelled += is_pos
                stats.negatives_relabelled += not is_pos
            elif lab == n_labels and is_pos:
                stats.positives_relabelled += 1  # relabelled to non-entity: a plain O
            else:
                masked.append((start, end))
                stats.positives_removed += is_pos
                stats.negatives_masked += not is_pos
        taken: Set[int] = set()
        for s, e in ents:
            taken.update(range(s, e))
        final_ents = [(s, e, label) for (s, e), label in ents.items()]
        for s, e, label in added:  # left to right; a relabel that overlaps is masked
            if not taken.intersection(range(s, e)):
                final_ents.append((s, e, label))
                taken.update(range(s, e))
            else:
                masked.append((s, e))
        missing_tokens = sorted({t for s, e in masked for t in range(s, e)} - taken)
        stats.masked_tokens += len(missing_tokens)
        if len(missing_tokens) == len(doc):
            stats.docs_dropped += 1
            continue
        ent_spans = [Span(new, s, e, label=label) for s, e, label in sorted(final_ents)]
        new.set_ents(
            ent_spans, missing=[new[t : t + 1] for t in missing_tokens], default="outside"
        )
        new.spans[spans_key] = ent_spans
        new.spans[ignore_key] = [new[s:e] for s, e in sorted(set(ignored) | set(masked))]
        out.append(new)
    stats.docs_out = len(out)
    return out, stats

