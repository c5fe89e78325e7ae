"""The contract between the stages of a cleaning: what a detector returns
(`Suspicion`, with its suggested spans as `Proposals`), what a detector is
(`Detector`), and the checks every registered function shares.

A detector is what a registered function returns: a callable taking the
`Evidence` and returning a `Suspicion` (flags and a score per sample, for
positives and negatives, and where it has one, a suggested label or span).
The registered function only binds and validates the settings of a plain
function, so each detector can be called and tested without a config.

    [detectors.aum]
    @misc = "spacy-dynclean.aum_detector.v1"
    negative_percentile = 75

A user's own detector is registered the same way (`@spacy.registry.misc`) and
picked up with `--code` or from a package's `spacy_misc` entry points.

A cleaning in batches (`[evidence] batch_size`) calls a detector once per
batch of docs, with that batch's `Evidence`. A figure of the whole corpus
(a count over every doc, a tally per text) must be asked for with
`Evidence.counts`, which gives the sums over every batch; one counted over
`evidence.docs` directly is the batch's own.
"""
from dataclasses import dataclass, field
from sys import intern
from typing import Any, Callable, Dict, List, Optional, Protocol, Set, Tuple, Union

import numpy
from spacy.tokens import Doc

from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.recording.samples import candidate_row
from spacy_dynclean.util import DynCleanError

@dataclass
class Proposals:
    """Suggested spans: `row` is the flagged sample a proposal would replace
    (-1: none, an addition), then the span and its label column (the
    non-entity column means "not an entity") and a confidence in 0..1."""

    row: numpy.ndarray
    doc: numpy.ndarray
    start: numpy.ndarray
    end: numpy.ndarray
    label: numpy.ndarray
    score: numpy.ndarray

    def __len__(self) -> int:
        return len(self.row)

    @classmethod
    def empty(cls) -> "Proposals":
        z = numpy.zeros(0, dtype="int64")
        return cls(z, z.copy(), z.copy(), z.copy(), z.copy(), numpy.zeros(0, dtype="float32"))

    @classmethod
    def from_rows(cls, rows: List[tuple]) -> "Proposals":
        """From (row, doc, start, end, label, score) tuples."""
        if not rows:
            return cls.empty()
        cols = list(zip(*rows))
        return cls(*(numpy.asarray(c, dtype="int64") for c in cols[:5]), numpy.asarray(cols[5], dtype="float32"))


@dataclass
class Suspicion:
    """One detector's view of every sample: `positive` flags distant entities
    suspected wrong, `negative` non-entity spans suspected to be missed
    entities; `score` is the suspicion (higher: more suspect; NaN: no
    opinion); `label` a suggested label column per sample (-1: none);
    `proposals` suggested spans; `abstained`: the detector found that its
    evidence says nothing about this corpus (a decision hands the kinds it
    flags to the other detectors); `summed`: the `details` that count
    samples, added up over the batches of a cleaning in batches (the others
    describe the corpus and are the same in every batch)."""

    positive: numpy.ndarray
    negative: numpy.ndarray
    score: numpy.ndarray
    label: Optional[numpy.ndarray] = None
    proposals: Proposals = field(default_factory=Proposals.empty)
    details: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    abstained: bool = False
    summed: Tuple[str, ...] = ()

    @classmethod
    def none(cls, n: int) -> "Suspicion":
        return cls(numpy.zeros(n, dtype=bool), numpy.zeros(n, dtype=bool), numpy.full(n, numpy.nan, "float32"))

    def check(self, n: int) -> None:
        """Arrays of the sample table's length (a user's detector may err)."""
        if not isinstance(self, Suspicion):
            raise DynCleanError(f"returned {type(self).__name__}, not a Suspicion")
        for name in ("positive", "negative", "score", "label"):
            value = getattr(self, name)
            if value is not None and numpy.asarray(value).shape != (n,):
                raise DynCleanError(f"returned {name} of shape {numpy.asarray(value).shape}, expected ({n},)")


Detector = Callable[[Evidence], Suspicion]


@dataclass
class Flags:
    """The decided flags over the sample table, and why."""

    positive: numpy.ndarray  # bool per sample: distant entity judged wrong
    negative: numpy.ndarray  # bool per sample: non-entity span judged a missed entity
    protected_negatives: int = 0
    votes: Optional[numpy.ndarray] = None  # detectors that flagged each sample
    warnings: List[str] = field(default_factory=list)
    # per kind ("positives", "negatives"), the detectors whose evidence spoke on this corpus (not abstained)
    trusted: Dict[str, List[str]] = field(default_factory=dict)
    # per label: (flagged distant entities, distant entities) among the candidates
    label_counts: Optional[numpy.ndarray] = None

    @property
    def any(self) -> numpy.ndarray:
        return self.positive | self.negative


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
    strategy: str = "remove"
    changes: Dict[str, int] = field(default_factory=dict)


@dataclass
class Cleaned:
    """What a strategy returns: the docs to write (corrected copies of the
    changed ones, the unchanged ones as they were: never the evidence's docs
    modified in place) and the counts."""

    docs: List[Doc]
    stats: CleanStats


class Strategy(Protocol):
    """What a registered strategy returns: it applies the decided flags to
    copies of the docs it changes, never to the evidence's docs themselves.
    `reviewed`, where given, holds a reviewer's decisions as suggested spans
    (score 2.0) that take precedence over the strategy's own choice for the
    samples they name."""

    def __call__(self, evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], *,
                 reviewed: Optional[Suspicion] = None) -> Cleaned: ...


def check_k(k: Union[int, str, None], recorded: int, where: Optional[str]) -> None:
    """A k beyond the recorded epochs is an error, not silently reduced."""
    if isinstance(k, int) and not isinstance(k, bool) and k > recorded:
        raise DynCleanError(f"k={k}, but {where} recorded {recorded} epochs: lower k or record longer")


def validate_k(k: Union[int, str, None]) -> Union[int, str, None]:
    if k == "auto" or k is None or (isinstance(k, int) and not isinstance(k, bool) and k >= 0):
        return k
    raise DynCleanError(f"k must be 'auto', 0 (all epochs) or a positive number, not {k!r}")


def check_range(name: str, value: Any, low: float, high: float) -> None:
    """A number in low..high, or an error naming the setting."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not low <= value <= high:
        raise DynCleanError(f"{name} must be a number in {low:g}..{high:g}, not {value!r}")


def sample_forms(evidence: Evidence, rows: numpy.ndarray) -> List[str]:
    """The lower-cased text of each sample row (its surface form)."""
    samples = evidence.samples
    docs = evidence.docs_by_position()
    return [docs[int(samples.doc[r])][int(samples.start[r]): int(samples.end[r])].text.lower() for r in rows]


def lower_words(evidence: Evidence) -> List[List[str]]:
    """The lower-cased words of each doc, in sample-table order (computed once
    per cleaning; each distinct word held once, not once per token)."""
    return evidence.cached("lower_words", lambda: [[intern(t.text.lower()) for t in d]
                                                   for d in evidence.docs_by_position()])


def form_occurrences(evidence: Evidence, forms: Set[Tuple[str, ...]], pool: numpy.ndarray
                     ) -> Dict[Tuple[str, ...], List[int]]:
    """The sample rows in `pool` of every occurrence of each form (a tuple of
    lower-cased words). Only the forms asked for are looked up, by their
    first word, so the cost grows with the corpus's tokens, not its spans."""
    samples = evidence.samples
    words = lower_words(evidence)
    by_first: Dict[str, List[Tuple[str, ...]]] = {}
    for form in forms:
        by_first.setdefault(form[0], []).append(form)
    max_len = evidence.max_span_length
    bases = samples.doc_bases
    occurrences: Dict[Tuple[str, ...], List[int]] = {form: [] for form in forms}
    for p, doc_words in enumerate(words):
        n = len(doc_words)
        for i, word in enumerate(doc_words):
            for form in by_first.get(word, ()):
                end = i + len(form)
                if end <= n and tuple(doc_words[i:end]) == form:
                    offset = candidate_row(i, end, n, max_len)
                    if offset >= 0 and pool[int(bases[p]) + offset]:
                        occurrences[form].append(int(bases[p]) + offset)
    return occurrences
