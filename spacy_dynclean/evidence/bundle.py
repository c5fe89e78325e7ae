"""The evidence a cleaning reads, loaded once and checked together.

`[paths]` of a cleaning config names the files: the training corpus (always),
the dynamics of the recording run, those of the threshold-sample run, the
held-out evidence of a gold dev set and the out-of-fold predictions. Every
detector reads the same `Evidence`; one that needs a file the config does not
give fails with a line naming itself and the missing path.

A cleaning in batches (`[evidence] batch_size`) gives each detector the
`Evidence` of a batch of docs: its docs, its rows of the sample table, and
the corpus statistics counted over every batch before. A detector asks for
such a statistic with `Evidence.counts` (a count that sums over docs): over
the corpus it is counted at once; in a batch the cleaning's earlier passes
counted it (`Missing` asks them to), so a batch decides as the whole corpus
would.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy
from spacy.tokens import Doc
from spacy.vocab import Vocab

from spacy_dynclean.convert import read_docbin
from spacy_dynclean.evidence.folds import FoldPredictions
from spacy_dynclean.evidence.heldout import FormEvidence
from spacy_dynclean.evidence.scores import fit_counts, k_from_fit, resolve_k
from spacy_dynclean.recording.dynamics import Dynamics, corpus_samples
from spacy_dynclean.recording.samples import (FLAG_THRESHOLD, SampleIndex, candidate_row, corpus_fingerprint, doc_id,
                                             gold_spans)
from spacy_dynclean.util import DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike

#: The `[paths]` keys a cleaning reads (others are left to the user's own sections).
PATH_KEYS = ("corpus", "dynamics", "threshold_dynamics", "heldout", "folds")

#: A count over the docs of an `Evidence` (the whole corpus or a batch).
Count = Callable[["Evidence"], Any]


class Missing(Exception):
    """A batch asked for corpus statistics not counted yet: `counts` maps
    each key to its count, which the cleaning runs over every batch."""

    def __init__(self, counts: Dict[Any, Count]) -> None:
        super().__init__(f"corpus statistics not counted yet: {', '.join(map(str, counts))}")
        self.counts = counts


def add_up(total: Any, part: Any) -> Any:
    """`total` with `part` added: counters, numbers and objects that add in
    place (`+=`: `CasingStats`), tuples item by item (a statistic's parts)."""
    if total is None:
        return part
    if isinstance(total, tuple):
        return tuple(add_up(a, b) for a, b in zip(total, part))
    total += part
    return total


@dataclass
class Evidence:
    """The corpus, its sample table and the recorded evidence about it.

    `samples` is the table every detector's arrays are aligned with: the
    recording run's dynamics when given, otherwise the candidate spans of the
    corpus (no epochs recorded).
    """

    corpus: Path
    docs: List[Doc]
    samples: Dynamics
    dynamics: Optional[Dynamics] = None
    threshold: Optional[Dynamics] = None
    heldout: Optional[FormEvidence] = None
    folds: Optional[FoldPredictions] = None
    paths: Dict[str, Optional[str]] = field(default_factory=dict)
    #: in a batch: the corpus statistics counted so far (shared by every batch); None: the whole corpus
    statistics: Optional[Dict[Any, Any]] = None
    #: in a batch: the position of its first doc in the corpus, and the whole table's row of each of its rows
    first_doc: int = 0
    rows: Optional[numpy.ndarray] = None
    _cache: Dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def labels(self) -> List[str]:
        return self.samples.labels

    @property
    def n_labels(self) -> int:
        return len(self.samples.labels)

    @property
    def max_span_length(self) -> int:
        return int(self.samples.meta["max_span_length"])

    def row_of(self, position: int, start: int, end: int) -> int:
        """Sample row of span [start, end) of the doc at `position`, or -1
        where the span is no candidate."""
        offset = candidate_row(start, end, len(self.docs_by_position()[position]), self.max_span_length)
        return -1 if offset < 0 else int(self.samples.doc_bases[position]) + offset

    def require(self, what: str) -> Any:
        """The evidence `what` (a `[paths]` key), or an error saying that the
        config does not give it (the caller names the section)."""
        value = {"dynamics": self.dynamics, "threshold_dynamics": self.threshold, "heldout": self.heldout,
                 "folds": self.folds}[what]
        if value is None:
            raise DynCleanError(f"needs paths.{what}, which the cleaning config leaves empty")
        return value

    def docs_by_position(self) -> List[Doc]:
        """The docs in the order of the sample table's doc ids."""
        if "by_position" not in self._cache:
            by_id = {doc_id(d): d for d in self.docs}
            self._cache["by_position"] = [by_id[d] for d in self.samples.doc_ids]
        return self._cache["by_position"]

    def cached(self, key: Any, make: Any) -> Any:
        """A value shared by detectors (computed once per cleaning, or per batch)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def table_rows(self, rows: numpy.ndarray) -> numpy.ndarray:
        """The whole sample table's rows of rows of this (batch's) table."""
        return rows if self.rows is None else self.rows[rows]

    def counts(self, counts: Dict[Any, Count]) -> Tuple[Any, ...]:
        """The corpus statistics `counts` (key: a count over docs that sums:
        counters, numbers, tuples of them), in the order given: counted here
        over the whole corpus, or in a batch the sums the cleaning counted
        over every batch (`Missing` names those not counted yet, all at once)."""
        if self.statistics is None:
            return tuple(self.cached(("corpus", key), lambda c=count: c(self)) for key, count in counts.items())
        missing = {key: count for key, count in counts.items() if key not in self.statistics}
        if missing:
            raise Missing(missing)
        return tuple(self.statistics[key] for key in counts)

    def k_of(self, k: Union[int, str, None]) -> int:
        """k of the recording run (`resolve_k`); "auto" from the whole corpus's fit."""
        dynamics = self.require("dynamics")
        if k != "auto":
            return resolve_k(dynamics, k)
        if dynamics.n_epochs == 0:
            raise DynCleanError("the dynamics hold no completed epoch")
        (fit, n_positive), = self.counts({"epochs_fit": lambda ev: fit_counts(ev.require("dynamics"))})
        return k_from_fit(fit, n_positive, dynamics.n_epochs)

    def once(self, key: Any, make: Callable[[], Any]) -> Any:
        """A value computed once per cleaning from files read whole (not from
        the docs), shared by every batch."""
        store = self._cache if self.statistics is None else self.statistics
        if ("once", key) not in store:
            store[("once", key)] = make()
        return store[("once", key)]

    def whole(self, what: str) -> None:
        """Refuse, in a batch, a setting that needs every sample at once."""
        if self.statistics is not None:
            raise DynCleanError(f"{what} needs every sample at once: clean without [evidence] batch_size")

    @classmethod
    def load(
        cls, paths: Dict[str, Any], *, max_span_length: int = 8, spans_key: str = DEFAULT_SPANS_KEY,
        ignore_key: str = DEFAULT_IGNORE_KEY,
    ) -> "Evidence":
        """Read and cross-check the files of `paths` (None: not given)."""
        given = given_paths(paths)
        corpus = str(given["corpus"])
        dynamics = Dynamics.from_disk(given["dynamics"]) if given.get("dynamics") else None
        threshold = Dynamics.from_disk(given["threshold_dynamics"]) if given.get("threshold_dynamics") else None
        heldout = FormEvidence.from_disk(given["heldout"]) if given.get("heldout") else None
        folds = FoldPredictions.from_disk(given["folds"]) if given.get("folds") else None
        docs = read_docbin(corpus, Vocab())
        return cls.assemble(Path(corpus), docs, dynamics=dynamics, threshold=threshold, heldout=heldout,
                            folds=folds, paths=given, max_span_length=max_span_length, spans_key=spans_key,
                            ignore_key=ignore_key)

    @classmethod
    def assemble(
        cls, corpus: Path, docs: List[Doc], *, dynamics: Optional[Dynamics] = None,
        threshold: Optional[Dynamics] = None, heldout: Optional[FormEvidence] = None,
        folds: Optional[FoldPredictions] = None, paths: Optional[Dict[str, Optional[str]]] = None,
        max_span_length: int = 8, spans_key: str = DEFAULT_SPANS_KEY, ignore_key: str = DEFAULT_IGNORE_KEY,
    ) -> "Evidence":
        """Cross-check evidence already in memory (what `load` read, or what a
        training holds) and bundle it."""
        given = dict(paths or {"corpus": str(corpus)})
        if not docs:
            raise DynCleanError(f"{corpus}: empty corpus")
        if dynamics is not None:
            if dynamics.threshold.any():
                raise DynCleanError(
                    f"{given.get('dynamics')}: recorded with threshold samples: give it as paths.threshold_dynamics "
                    "and the run without them as paths.dynamics"
                )
            check_matches(dynamics, docs, corpus)
            samples = dynamics
        else:
            samples = corpus_samples(docs, max_span_length, spans_key, ignore_key, corpus)
        if threshold is not None:
            cls.check_threshold(samples, threshold, given)
        if folds is not None:
            folds.check_matches(samples, given.get("folds"))
        return cls(
            corpus=Path(corpus), docs=docs, samples=samples, dynamics=dynamics, threshold=threshold,
            heldout=heldout, folds=folds, paths=given,
        )

    @staticmethod
    def check_threshold(samples: Dynamics, threshold: Dynamics, paths: Dict[str, Optional[str]]) -> None:
        """The threshold run holds threshold samples, of the same corpus and labels."""
        if not len(threshold.flagged_rows(FLAG_THRESHOLD)):
            raise DynCleanError(
                f"{paths.get('threshold_dynamics')}: holds no threshold samples (a run without them?): train with "
                "--components.dynclean_ner.threshold_samples true"
            )
        check_pair(samples, threshold, str(paths.get("threshold_dynamics")))


def given_paths(paths: Dict[str, Any]) -> Dict[str, Optional[str]]:
    """The `[paths]` a cleaning reads, each a path or None; the corpus must be given."""
    given = {k: (str(v) if v not in (None, "") else None) for k, v in paths.items() if k in PATH_KEYS}
    if given.get("corpus") is None:
        raise DynCleanError("paths.corpus is empty: give the training DocBin to clean (--paths.corpus)")
    return given


def check_matches(dynamics: Dynamics, docs: List[Doc], where: str) -> None:
    """Refuse dynamics recorded on another corpus, naming the first doc that
    differs where it can be found."""
    ids = set(dynamics.doc_ids)
    for i, doc in enumerate(docs):
        did = doc_id(doc, f"{where}: doc {i}")
        if did not in ids:
            raise DynCleanError(f"{where}: doc {i} (id {did}) is not in the dynamics: another corpus?")
    if len(docs) != len(ids):
        raise DynCleanError(f"{where}: {len(docs)} docs, the dynamics have {len(ids)}: another corpus?")
    if corpus_fingerprint(docs, dynamics.spans_key, dynamics.ignore_key) != dynamics.meta.get("fingerprint"):
        raise DynCleanError(f"{where}: {first_difference(dynamics, docs)} differs from the corpus the dynamics "
                            "were recorded on (other labels or tokens?)")


def first_difference(dynamics: Dynamics, docs: List[Doc]) -> str:
    """Name the first doc whose length or entities differ from the dynamics'."""
    n_labels = len(dynamics.labels)
    lengths = numpy.zeros(len(dynamics.doc_ids), dtype="int64")
    numpy.maximum.at(lengths, dynamics.doc, dynamics.end)
    pos = dynamics.positive & ~dynamics.threshold
    recorded: Dict[int, set] = {}
    for d, st, en, lab in zip(dynamics.doc[pos], dynamics.start[pos], dynamics.end[pos], dynamics.label[pos]):
        recorded.setdefault(int(d), set()).add((int(st), int(en), dynamics.labels[min(int(lab), n_labels - 1)]))
    position = {d: i for i, d in enumerate(dynamics.doc_ids)}
    max_len = int(dynamics.meta.get("max_span_length", 8))
    for i, doc in enumerate(docs):
        p = position[doc_id(doc)]
        ents = {(s.start, s.end, s.label_) for s in gold_spans(doc, dynamics.spans_key) if s.end - s.start <= max_len}
        if len(doc) != lengths[p] or ents != recorded.get(p, set()):
            return f"doc {i} (id {doc_id(doc)})"
    return "the ignored spans or token texts"


def check_pair(real: Dynamics, threshold: Dynamics, where: str = "the threshold dynamics") -> None:
    """The threshold run must be on the same corpus and labels."""
    if real.labels != threshold.labels:
        raise DynCleanError(f"{where}: labels {threshold.labels}, the corpus has {real.labels}")
    if real.meta.get("fingerprint") != threshold.meta.get("fingerprint"):
        raise DynCleanError(f"{where}: recorded on another corpus (fingerprints differ)")
