"""The decision: which detectors flag each kind of sample, how their flags
combine, what is protected, and which strategy applies the result.

    [decision]
    @misc = "spacy-dynclean.decision.v1"
    positives = ["heldout"]
    negatives = ["aum", "heldout"]

    [decision.strategy]
    @misc = "spacy-dynclean.remove.v1"

`decision.v2` adds `hand_off`: a detector that abstains on a corpus (the
name structure where names carry no case) hands the kinds it flags to
another (the training dynamics), which otherwise stays out of them.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Flags, Strategy, Suspicion, check_range
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.recording.samples import gold_spans, overlaps_positive
from spacy_dynclean.util import DynCleanError

RULES = ("union", "intersection", "vote")


def combine(flags: Sequence[numpy.ndarray], rule: str, min_votes: int, n: int) -> numpy.ndarray:
    """Union, intersection or a vote (at least `min_votes`) of flag arrays."""
    if not flags:
        return numpy.zeros(n, dtype=bool)
    stacked = numpy.stack([numpy.asarray(f, dtype=bool) for f in flags])
    if rule == "union":
        return stacked.any(axis=0)
    if rule == "intersection":
        return stacked.all(axis=0)
    return stacked.sum(axis=0) >= min_votes


def label_counts(samples, flag_pos: numpy.ndarray) -> numpy.ndarray:
    """Per label: (its flagged distant entities, its distant entities) among the candidates."""
    real_positive = samples.candidates & samples.positive
    return numpy.array([[int((flag_pos & real_positive & (samples.label == j)).sum()),
                         int((real_positive & (samples.label == j)).sum())] for j in range(len(samples.labels))],
                       dtype="int64").reshape(-1, 2)


def majority_warnings(labels: List[str], counts: numpy.ndarray, majority: float = 0.5) -> List[str]:
    """A warning per label with more than `majority` of its positives flagged
    (`counts`: `label_counts`, over the whole corpus)."""
    return [f"{label}: {int(n_flagged)} of {int(n_label)} positives flagged (most of the label)"
            for label, (n_flagged, n_label) in zip(labels, counts.tolist())
            if n_label and n_flagged > majority * n_label]


def cap_per_label(samples, flag_pos: numpy.ndarray, suspicion: numpy.ndarray, max_fraction: float) -> List[str]:
    """Keep at most `max_fraction` of each label's positives flagged, the most
    suspect first (in place); a warning per capped label."""
    warnings: List[str] = []
    candidate_pos = samples.candidates & samples.positive
    for j, label in enumerate(samples.labels):
        rows = numpy.nonzero(candidate_pos & (samples.label == j))[0]
        flagged = rows[flag_pos[rows]]
        if len(rows) and len(flagged) > max_fraction * len(rows):
            keep_n = int(max_fraction * len(rows))
            order = flagged[numpy.argsort(-numpy.nan_to_num(suspicion[flagged], nan=-numpy.inf), kind="stable")]
            flag_pos[order[keep_n:]] = False
            warnings.append(f"{label}: {len(flagged)} of {len(rows)} positives were flagged; capped at {keep_n} "
                            f"(max_label_fraction={max_fraction})")
    return warnings


def volume_warnings(samples, flags: Flags, docs_in: int, docs_dropped: int, *, max_negative_share: float = 0.1,
                    max_dropped_share: float = 0.1) -> List[str]:
    """`volume_counts` of one table of samples: the warnings when cleaning
    masks a large share of the non-entity spans or drops many docs."""
    negatives = int((samples.candidates & ~samples.positive).sum())
    return volume_counts(negatives, int(flags.negative.sum()), docs_in, docs_dropped,
                         max_negative_share=max_negative_share, max_dropped_share=max_dropped_share)


def volume_counts(negatives: int, flagged: int, docs_in: int, docs_dropped: int, *, max_negative_share: float = 0.1,
                  max_dropped_share: float = 0.1) -> List[str]:
    """Warnings when cleaning masks a large share of the non-entity spans or
    drops many docs (every token masked): both usually mean thresholds that
    fell inside margins recorded before the model learned anything (k too
    small, or a recording run too short), and a dropped doc's negatives are
    lost to retraining."""
    warnings: List[str] = []
    if negatives and flagged > max_negative_share * negatives:
        warnings.append(
            f"{flagged:,} of {negatives:,} negatives flagged ({flagged / negatives:.0%}): the threshold may lie "
            "inside margins recorded before the model learned (try a larger k or longer recording run)"
        )
    if docs_in and docs_dropped > max_dropped_share * docs_in:
        warnings.append(
            f"{docs_dropped:,} of {docs_in:,} docs dropped ({docs_dropped / docs_in:.0%}, "
            "every token masked): their negatives are lost to retraining"
        )
    return warnings


Strategy = Callable[[Evidence, Flags, Dict[str, Suspicion]], Tuple[List[Doc], "object"]]


@dataclass
class Decision:
    """Combine the detectors' flags per kind, protect, cap, then apply `strategy`."""

    strategy: Strategy
    positives: List[str]
    negatives: List[str]
    positive_rule: str = "union"
    negative_rule: str = "union"
    min_votes: int = 2
    protect_overlaps: bool = True
    max_label_fraction: Optional[float] = None
    majority_warning: float = 0.5
    max_negative_share: float = 0.1
    max_dropped_share: float = 0.1
    protect_flagged: bool = True
    hand_off: Dict[str, str] = field(default_factory=dict)

    @property
    def detectors(self) -> List[str]:
        """Every detector the decision reads, in order (hand-off targets last)."""
        return list(dict.fromkeys([*self.positives, *self.negatives, *self.hand_off.values()]))

    def deciding(self, suspicions: Dict[str, Suspicion]) -> Dict[str, List[str]]:
        """Per kind, the detectors that decide it on this corpus: those listed,
        with each abstaining one that has a hand-off replaced by its target."""
        out: Dict[str, List[str]] = {}
        for kind, names in (("positives", self.positives), ("negatives", self.negatives)):
            chosen = list(names)
            for source, target in self.hand_off.items():
                if source in names and suspicions[source].abstained and target not in chosen:
                    chosen.append(target)
            out[kind] = chosen
        return out

    def flag(self, evidence: Evidence, suspicions: Dict[str, Suspicion]) -> Flags:
        """The decided flags (threshold and already-ignored samples never)."""
        samples = evidence.samples
        n = len(samples)
        for key, names in (("positives", self.positives), ("negatives", self.negatives),
                           ("hand_off", list(self.hand_off.values()))):
            for name in names:
                if name not in suspicions:
                    raise DynCleanError(f"[decision] {key}: no detector {name!r} in [detectors] "
                                        f"(there are: {', '.join(suspicions) or 'none'})")
        candidate = samples.candidates
        positive = samples.positive
        deciding = self.deciding(suspicions)
        flag_pos = combine([suspicions[d].positive for d in deciding["positives"]], self.positive_rule,
                           self.min_votes, n)
        flag_neg = combine([suspicions[d].negative for d in deciding["negatives"]], self.negative_rule,
                           self.min_votes, n)
        flag_pos &= candidate & positive
        flag_neg &= candidate & ~positive
        protected = 0
        if self.protect_overlaps and flag_neg.any():
            # with protect_flagged off, only distant entities that stay protect their overlaps
            kept = positive if self.protect_flagged else positive & ~flag_pos
            over = overlaps_positive(samples.doc, samples.start, samples.end, kept) & flag_neg & ~positive
            over |= overlaps_long_entity(evidence, flag_neg)
            protected = int(over.sum())
            flag_neg &= ~over
        votes = numpy.zeros(n, dtype="int16")
        voters = [*deciding["positives"], *deciding["negatives"]]
        for name in self.detectors:
            if name not in voters:  # a hand-off target whose source did not abstain takes no part
                continue
            s = suspicions[name]
            votes += (s.positive & flag_pos) | (s.negative & flag_neg)
        warnings: List[str] = []
        if self.max_label_fraction is not None:
            evidence.whole("[decision] max_label_fraction (it ranks each label's flags over the corpus)")
            first = suspicions[self.positives[0]].score if self.positives else numpy.zeros(n)
            warnings += cap_per_label(samples, flag_pos, votes * 1e6 + numpy.nan_to_num(first, nan=0.0),
                                      self.max_label_fraction)
        counts = label_counts(samples, flag_pos)
        warnings += majority_warnings(samples.labels, counts, self.majority_warning)
        trusted = trusted_detectors(deciding, suspicions)
        for kind, names in deciding.items():
            if names and not trusted[kind]:
                warnings.append(f"every detector of the {kind} ({', '.join(names)}) abstained on this corpus: "
                                f"no {kind} flagged")
        return Flags(flag_pos, flag_neg, protected, votes, warnings, trusted, counts)


def overlaps_long_entity(evidence: Evidence, rows_mask: numpy.ndarray) -> numpy.ndarray:
    """Per sample in `rows_mask`: does it overlap a distant entity too long to
    be a sample (longer than the span limit)? Those stay whatever is flagged,
    so a flag over them would change nothing and yet be counted."""
    samples = evidence.samples
    max_len = evidence.max_span_length
    over = numpy.zeros(len(samples), dtype=bool)
    if samples.meta.get("gold_spans_too_long") == 0:  # the sample table counted none: no pass over the docs
        return over

    def long_entities() -> Dict[int, List[Tuple[int, int]]]:
        out: Dict[int, List[Tuple[int, int]]] = {}
        for p, doc in enumerate(evidence.docs_by_position()):
            spans = [(e.start, e.end) for e in gold_spans(doc, samples.spans_key) if e.end - e.start > max_len]
            if spans:
                out[p] = spans
        return out

    by_doc = evidence.cached("long_entities", long_entities)
    for row in numpy.nonzero(rows_mask)[0].tolist():
        spans = by_doc.get(int(samples.doc[row]))
        if spans:
            s, e = int(samples.start[row]), int(samples.end[row])
            over[row] = any(a < e and s < b for a, b in spans)
    return over


def trusted_detectors(kinds: Dict[str, List[str]], suspicions: Dict[str, Suspicion]) -> Dict[str, List[str]]:
    """Per kind, the detectors that did not abstain: where one abstains (the
    name structure on text whose names carry no case), the others decide."""
    return {kind: [n for n in names if not suspicions[n].abstained] for kind, names in kinds.items()}


@registry.misc("spacy-dynclean.decision.v1")
def decision(strategy: Strategy, positives: List[str] = ["heldout"], negatives: List[str] = ["aum", "heldout"],
             positive_rule: str = "union", negative_rule: str = "union", min_votes: int = 2,
             protect_overlaps: bool = True, max_label_fraction: Optional[float] = None,
             majority_warning: float = 0.5, max_negative_share: float = 0.1,
             max_dropped_share: float = 0.1, protect_flagged: bool = True) -> Decision:
    """Which detectors flag positives (distant entities) and negatives
    (non-entity spans), combined by `union`, `intersection` or `vote` (at
    least `min_votes` detectors); negatives overlapping a distant entity are
    never flagged with `protect_overlaps` (with `protect_flagged` off, only
    overlaps of distant entities that are not themselves flagged: the right
    span of a wrong partial match may then be flagged); `max_label_fraction`
    caps the flagged share of a label's positives."""
    for key, names in (("positives", positives), ("negatives", negatives)):
        if not isinstance(names, (list, tuple)) or not all(isinstance(x, str) for x in names):
            raise DynCleanError(f"{key} must be a list of detector names, not {names!r}")
    for key, rule in (("positive_rule", positive_rule), ("negative_rule", negative_rule)):
        if rule not in RULES:
            raise DynCleanError(f"{key} must be one of {RULES}, not {rule!r}")
    if isinstance(min_votes, bool) or not isinstance(min_votes, int) or min_votes < 1:
        raise DynCleanError(f"min_votes must be a whole number >= 1, not {min_votes!r}")
    if max_label_fraction is not None:
        check_range("max_label_fraction", max_label_fraction, 0, 1)
    for name, value in (("majority_warning", majority_warning), ("max_negative_share", max_negative_share),
                        ("max_dropped_share", max_dropped_share)):
        check_range(name, value, 0, 1)
    if not callable(strategy):
        raise DynCleanError(f"strategy must be a registered strategy, not {strategy!r}")
    return Decision(strategy, list(positives), list(negatives), positive_rule, negative_rule, min_votes,
                    bool(protect_overlaps), max_label_fraction, majority_warning, max_negative_share,
                    max_dropped_share, bool(protect_flagged))


@registry.misc("spacy-dynclean.decision.v2")
def decision_v2(strategy: Strategy, positives: List[str] = ["heldout"], negatives: List[str] = ["aum", "heldout"],
                hand_off: Dict[str, str] = {}, positive_rule: str = "union", negative_rule: str = "union",
                min_votes: int = 2, protect_overlaps: bool = True, max_label_fraction: Optional[float] = None,
                majority_warning: float = 0.5, max_negative_share: float = 0.1, max_dropped_share: float = 0.1,
                protect_flagged: bool = True) -> Decision:
    """v1, and `hand_off` ({"structure": "learned"}): where a listed detector
    abstains on the corpus, the named one decides the kinds it was listed
    for; where it does not abstain, the named one stays out of them (unless
    listed there itself)."""
    made = decision(strategy, positives, negatives, positive_rule, negative_rule, min_votes, protect_overlaps,
                    max_label_fraction, majority_warning, max_negative_share, max_dropped_share, protect_flagged)
    if not isinstance(hand_off, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in hand_off.items()):
        raise DynCleanError(f"hand_off must map detector names to detector names, not {hand_off!r}")
    made.hand_off = dict(hand_off)
    return made
