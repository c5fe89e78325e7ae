"""Training dynamics: the per-epoch margin of every span sample.

`DynamicsRecorder` fills the arrays during `spacy train`, writing each
completed epoch as it ends; `Dynamics` is the recorded table and its Python
API (the files: `recording.storage`). Per-epoch arrays read from disk stay
memory-mapped columns until a caller asks for them, and `epochs_of` reads
only the epochs it is asked for.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy
from spacy.tokens import Doc

from spacy_dynclean.recording import storage
from spacy_dynclean.recording.samples import FLAG_IGNORED, FLAG_POSITIVE, FLAG_THRESHOLD, SampleIndex, gold_spans
from spacy_dynclean.recording.storage import EPOCH_ARRAYS, SAMPLE_ARRAYS, Columns
from spacy_dynclean.util import DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike

FORMAT_VERSION = storage.FORMAT_VERSION
_DTYPES = {"margins": "float32", "probs": "float16", "pred": "int8"}
_CHUNK = 1 << 20  # rows validated at a time


def margins_from_probs(probs: numpy.ndarray, assigned: numpy.ndarray):
    """Margin of each row's assigned column: log p_assigned - max other log p
    (equal to the logit margin, as the softmax normaliser cancels), and
    p_assigned itself."""
    logp = numpy.log(numpy.clip(probs, 1e-12, 1.0))
    rows = numpy.arange(len(assigned))
    own = logp[rows, assigned]
    logp[rows, assigned] = -numpy.inf
    return own - logp.max(axis=1), probs[rows, assigned]


class Dynamics:
    """Recorded dynamics: one row per span sample, one column per recorded epoch.

    `margins` is (samples x epochs) float32; `probs` the probability of the
    assigned label, same shape; `pred` the argmax column (entity labels, then
    non-entity; the fake threshold class is never predicted), int8. Sample keys are `doc_ids[doc]`, `start`, `end`
    ([start, end) token offsets). Each of the three may be given as a 2-D
    array or as a list of per-epoch columns; the attribute stacks the list
    on first use, `epochs_of` stacks only the epochs it returns.
    """

    def __init__(self, meta: Dict[str, Any], arrays: Dict[str, Union[numpy.ndarray, Columns]]) -> None:
        self.meta = meta
        self.doc_ids: List[str] = list(meta["doc_ids"])
        self.doc = arrays["doc"]
        self.start = arrays["start"]
        self.end = arrays["end"]
        self.label = arrays["label"]
        self.assigned = arrays["assigned"]
        self.flags = arrays["flags"]
        self._columns: Dict[str, Columns] = {name: arrays[name] for name in EPOCH_ARRAYS}
        self._doc_bases: Optional[numpy.ndarray] = None

    margins = property(lambda self: self._stacked("margins"), lambda self, v: self._set("margins", v),
                       doc="(samples x epochs) margins, float32")
    probs = property(lambda self: self._stacked("probs"), lambda self, v: self._set("probs", v),
                     doc="(samples x epochs) probability of the assigned label, float16")
    pred = property(lambda self: self._stacked("pred"), lambda self, v: self._set("pred", v),
                    doc="(samples x epochs) predicted label column, int8")

    def _set(self, name: str, value: numpy.ndarray) -> None:
        self._columns[name] = value

    def _stacked(self, name: str) -> numpy.ndarray:
        cols = self._columns[name]
        if isinstance(cols, list):
            cols = numpy.stack(cols, axis=1) if cols else numpy.zeros((len(self.label), 0), _DTYPES[name])
            self._columns[name] = cols
        return cols

    def epochs_of(self, name: str, k: Optional[int] = None, rows: Any = None) -> numpy.ndarray:
        """`name` ("margins", "probs" or "pred") of the first k epochs (all
        when None) as (rows x epochs), reading no later epoch."""
        cols = self._columns[name]
        k = self.n_epochs if k is None else min(k, self.n_epochs)
        if not isinstance(cols, list):
            return cols[:, :k] if rows is None else cols[rows, :k]
        if k == 0:
            n = len(self.label) if rows is None else len(numpy.arange(len(self.label))[rows])
            return numpy.zeros((n, 0), _DTYPES[name])
        return numpy.stack([c if rows is None else c[rows] for c in cols[:k]], axis=1)

    def __len__(self) -> int:
        return len(self.label)

    @property
    def labels(self) -> List[str]:
        return list(self.meta["labels"])

    @property
    def spans_key(self) -> str:
        """Span group the recording component learned from."""
        return str(self.meta.get("settings", {}).get("spans_key", DEFAULT_SPANS_KEY))

    @property
    def ignore_key(self) -> str:
        """Span group of samples the recording component's loss skipped."""
        return str(self.meta.get("settings", {}).get("ignore_key", DEFAULT_IGNORE_KEY))

    @property
    def n_epochs(self) -> int:
        cols = self._columns["margins"]
        return len(cols) if isinstance(cols, list) else int(cols.shape[1])

    @property
    def positive(self) -> numpy.ndarray:
        return (self.flags & FLAG_POSITIVE) > 0

    @property
    def threshold(self) -> numpy.ndarray:
        return (self.flags & FLAG_THRESHOLD) > 0

    @property
    def ignored(self) -> numpy.ndarray:
        return (self.flags & FLAG_IGNORED) > 0

    @property
    def candidates(self) -> numpy.ndarray:
        """Samples a cleaning may flag: real (not threshold) and not already ignored."""
        return ~self.threshold & ~self.ignored

    @property
    def doc_bases(self) -> numpy.ndarray:
        """First sample row of each doc (rows are grouped by doc, in candidate order)."""
        if self._doc_bases is None:
            self._doc_bases = numpy.searchsorted(self.doc, numpy.arange(len(self.doc_ids)))
        return self._doc_bases

    def aum(self, k: Optional[int] = None) -> numpy.ndarray:
        """Area under the margin: mean margin over the first k recorded epochs
        (all when k is None)."""
        if self.n_epochs == 0:
            raise DynCleanError("the dynamics hold no completed epoch")
        if k is not None and k < 1:
            raise DynCleanError(f"k (epochs to average) must be at least 1, not {k}")
        return self.epochs_of("margins", k).mean(axis=1)

    def batch(self, positions: numpy.ndarray, bases: numpy.ndarray) -> Tuple["Dynamics", numpy.ndarray]:
        """The table of the docs at `positions` (ascending; `bases`: the first
        row of every doc, and the table's length last) as a table of its own,
        doc positions from 0, read into memory; and the table's row of each
        of its rows."""
        counts = bases[positions + 1] - bases[positions]
        starts = numpy.repeat(bases[positions] - numpy.concatenate([[0], numpy.cumsum(counts)[:-1]]), counts)
        rows = starts + numpy.arange(int(counts.sum()), dtype="int64")
        arrays: Dict[str, Any] = {name: storage.take(getattr(self, name), rows) for name in SAMPLE_ARRAYS}
        arrays["doc"] = numpy.repeat(numpy.arange(len(positions), dtype=arrays["doc"].dtype), counts)
        for name in EPOCH_ARRAYS:
            cols = self._columns[name]
            arrays[name] = [storage.take(c, rows) for c in cols] if isinstance(cols, list) \
                else storage.take(cols, rows)
        ids = self.doc_ids
        return Dynamics({**self.meta, "doc_ids": [ids[int(p)] for p in positions]}, arrays), rows

    def row_counts(self, chunk: int = _CHUNK) -> numpy.ndarray:
        """The first row of every doc, and the table's length last (rows are
        grouped by doc), read a chunk at a time."""
        counts = numpy.zeros(len(self.doc_ids), dtype="int64")
        for lo in range(0, len(self.doc), chunk):
            part = storage.take(self.doc, slice(lo, lo + chunk))
            counts += numpy.bincount(part, minlength=len(counts))[:len(counts)]
        return numpy.concatenate([[0], numpy.cumsum(counts)]).astype("int64")

    def keys(self) -> List[tuple]:
        """(doc id, start, end) of every sample."""
        ids = self.doc_ids
        return [(ids[d], int(s), int(e)) for d, s, e in zip(self.doc, self.start, self.end)]

    def epoch_columns(self, epoch: int) -> Dict[str, numpy.ndarray]:
        """The three arrays of one recorded epoch (its position, from 0)."""
        return {name: (cols[epoch] if isinstance(cols, list) else cols[:, epoch])
                for name, cols in self._columns.items()}

    def to_disk(self, path: PathLike) -> None:
        """Write the dynamics folder DIR (format 2), replacing an earlier
        recording's files there; the metadata go last."""
        path = Path(path)
        if path.suffix in (".npz", ".json"):
            raise DynCleanError(f"{path}: give the dynamics directory, not the file")
        storage.start(path, {name: getattr(self, name) for name in SAMPLE_ARRAYS})
        for epoch in range(self.n_epochs):
            storage.save_epoch(path, epoch, self.epoch_columns(epoch))
        storage.save_meta(path, self.meta, self.n_epochs)

    @classmethod
    def from_disk(cls, path: PathLike) -> "Dynamics":
        """Load DIR (or a format-1 DIR/dynamics.npz), per-epoch arrays
        memory-mapped, and validate it: a missing, empty, truncated or corrupt
        file, arrays of the wrong shape and NaN or infinite margins are each
        an error naming the file."""
        meta, samples, columns, where = storage.read(path)
        dyn = cls(meta, {**samples, **columns})
        dyn.validate(where)  # a chunk at a time, each chunk's pages let go (`storage.take`)
        return dyn

    def flagged_rows(self, flag: int) -> numpy.ndarray:
        """The rows whose flags hold `flag` (`FLAG_THRESHOLD`, ...), read a
        chunk at a time: a few rows of a large table without its whole mask."""
        parts = [numpy.nonzero(storage.take(self.flags, slice(lo, lo + _CHUNK)) & flag)[0] + lo
                 for lo in range(0, len(self.flags), _CHUNK)]
        return numpy.concatenate(parts).astype("int64") if parts else numpy.zeros(0, dtype="int64")

    def release(self) -> None:
        """Let the pages of memory-mapped arrays go (`storage.release`)."""
        for name in SAMPLE_ARRAYS:
            storage.release(getattr(self, name))
        for cols in self._columns.values():
            for col in cols if isinstance(cols, list) else [cols]:
                storage.release(col)

    def _epoch_shapes(self, where: str, n: int) -> None:
        for name in EPOCH_ARRAYS:
            cols = self._columns[name]
            if isinstance(cols, list):
                bad = [c.shape for c in cols if c.ndim != 1 or len(c) != n]
                if bad or len(cols) != self.n_epochs:
                    raise DynCleanError(f"{where}: array {name!r} has an epoch of shape {bad[0] if bad else '?'}, "
                                        f"expected ({n},) in each of {self.n_epochs} epochs")
            elif cols.ndim != 2 or cols.shape[0] != n or cols.shape[1] != self.n_epochs:
                raise DynCleanError(f"{where}: array {name!r} has shape {cols.shape}, expected ({n}, epochs)")

    def _epoch_values(self, where: str, n_labels: int) -> None:
        """Finite margins, probabilities in 0..1, predictions in the label set; one epoch and chunk at a time."""
        bad_m = bad_p = bad_pred = 0
        for epoch in range(self.n_epochs):
            cols = self.epoch_columns(epoch)
            for lo in range(0, len(self), _CHUNK):  # each chunk read, and its pages let go (`storage.take`)
                m = storage.take(cols["margins"], slice(lo, lo + _CHUNK))
                p = storage.take(cols["probs"], slice(lo, lo + _CHUNK)).astype("float32")
                pred = storage.take(cols["pred"], slice(lo, lo + _CHUNK))
                bad_m += int((~numpy.isfinite(m)).sum())
                bad_p += int((~(numpy.isfinite(p) & (p >= 0) & (p <= 1))).sum())
                bad_pred += int(((pred < 0) | (pred > n_labels)).sum())
        if bad_m:
            raise DynCleanError(
                f"{where}: {bad_m:,} margins are NaN or infinite (did the recording run diverge?); "
                "record the run again"
            )
        if bad_p:
            raise DynCleanError(f"{where}: {bad_p:,} probabilities are NaN or outside 0..1; record the run again")
        if bad_pred:
            raise DynCleanError(f"{where}: predicted labels out of range for the labels {self.labels} "
                                f"(0..{n_labels}, the last: non-entity)")

    def validate(self, where: str) -> None:
        """Shapes and values a recording writes; an error naming `where` otherwise."""
        n = len(self.label)
        for name in SAMPLE_ARRAYS:
            arr = getattr(self, name)
            if arr.ndim != 1 or len(arr) != n:
                raise DynCleanError(f"{where}: array {name!r} has shape {arr.shape}, expected ({n},)")
        self._epoch_shapes(where, n)
        if not isinstance(self.meta.get("labels"), list) or not isinstance(self.meta.get("doc_ids"), list):
            raise DynCleanError(f"{where}: the metadata lack the labels or the doc ids")
        low, high = storage.extremes(self.doc, _CHUNK)
        if n and (high >= len(self.doc_ids) or low < 0):
            raise DynCleanError(f"{where}: sample doc numbers do not match the {len(self.doc_ids)} doc ids")
        if "n_samples" in self.meta and self.meta["n_samples"] != n:
            raise DynCleanError(f"{where}: {n} samples, the metadata say {self.meta['n_samples']}")
        n_labels = len(self.labels)
        low, high = storage.extremes(self.label, _CHUNK)
        if n and (high > n_labels or low < 0):
            raise DynCleanError(f"{where}: sample labels out of range for the labels {self.labels}")
        self._epoch_values(where, n_labels)

    @classmethod
    def from_index(
        cls, index: SampleIndex, margins: Union[numpy.ndarray, Columns], probs: Union[numpy.ndarray, Columns],
        pred: Union[numpy.ndarray, Columns], meta: Dict[str, Any],
    ) -> "Dynamics":
        meta = {
            "format_version": FORMAT_VERSION,
            "labels": list(index.labels),
            "max_span_length": index.max_span_length,
            "fingerprint": index.fingerprint,
            "n_samples": len(index),
            "gold_spans_too_long": index.too_long,
            "doc_ids": index.doc_ids,
            **meta,
        }
        arrays = {name: getattr(index, name) for name in SAMPLE_ARRAYS}
        return cls(meta, {**arrays, "margins": margins, "probs": probs, "pred": pred})


class DynamicsRecorder:
    """Collects margins during training, one column per epoch, and writes the
    completed epochs after each one."""

    def __init__(
        self, index: SampleIndex, *, mode: str, output_dir: Optional[PathLike],
        meta: Optional[Dict[str, Any]] = None,
    ) -> None:
        if mode not in ("update", "epoch"):
            raise DynCleanError(f"dynamics mode must be 'update' or 'epoch', not {mode!r}")
        self.index = index
        self.mode = mode
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.meta = dict(meta or {})
        self.epochs: List[int] = []
        self._margins: List[numpy.ndarray] = []
        self._probs: List[numpy.ndarray] = []
        self._preds: List[numpy.ndarray] = []
        self._cur_m: Optional[numpy.ndarray] = None
        self._cur_p: Optional[numpy.ndarray] = None
        self._cur_pred: Optional[numpy.ndarray] = None
        self.current_epoch: Optional[int] = None
        self.steps_in_epoch = 0
        self._written = False

    def start_epoch(self, epoch: int) -> None:
        self.current_epoch = epoch
        self.steps_in_epoch = 0
        self._cur_m = numpy.full(len(self.index), numpy.nan, dtype="float32")
        self._cur_p = numpy.full(len(self.index), numpy.nan, dtype="float16")
        self._cur_pred = numpy.full(len(self.index), -1, dtype="int8")

    def record(self, rows: numpy.ndarray, probs: numpy.ndarray) -> None:
        """Store margins of `rows` computed from their probabilities."""
        if self._cur_m is None or self._cur_p is None or self._cur_pred is None:
            return
        margins, p_own = margins_from_probs(probs, self.index.assigned[rows])
        self._cur_m[rows] = margins
        self._cur_p[rows] = p_own
        self._cur_pred[rows] = probs[:, : len(self.index.labels) + 1].argmax(axis=1)

    def missing(self) -> int:
        return 0 if self._cur_m is None else int(numpy.isnan(self._cur_m).sum())

    def complete_epoch(self) -> None:
        """Append the current column and write it."""
        if self._cur_m is None or self._cur_p is None or self._cur_pred is None or self.current_epoch is None:
            return
        missing = self.missing()
        if missing:
            raise DynCleanError(
                f"epoch {self.current_epoch}: {missing} of {len(self.index)} samples got no margin; "
                "the training corpus differs from the one the component was initialized on"
            )
        self._margins.append(self._cur_m)
        self._probs.append(self._cur_p)
        self._preds.append(self._cur_pred)
        self.epochs.append(self.current_epoch)
        self._cur_m = self._cur_p = self._cur_pred = None
        self.write()

    def discard_epoch(self) -> None:
        self._cur_m = self._cur_p = self._cur_pred = None

    def to_dynamics(self) -> Dynamics:
        meta = {"mode": self.mode, "epochs": list(self.epochs), **self.meta}
        return Dynamics.from_index(self.index, list(self._margins), list(self._probs), list(self._preds), meta)

    def write(self) -> None:
        """Write the last completed epoch's files, then the metadata that
        list it; the written columns are memory-mapped from then on, so the
        recording holds one epoch in memory."""
        if self.output_dir is None or not self.epochs:
            return
        folder, epoch = self.output_dir, len(self.epochs) - 1
        if not self._written:
            storage.start(folder, {name: getattr(self.index, name) for name in SAMPLE_ARRAYS})
            self._written = True
        dyn = self.to_dynamics()
        storage.save_epoch(folder, epoch, dyn.epoch_columns(epoch))
        storage.save_meta(folder, dyn.meta, epoch + 1)
        for name, columns in (("margins", self._margins), ("probs", self._probs), ("pred", self._preds)):
            columns[epoch] = storage.load_column(folder, storage.column_file(name, epoch))


def corpus_samples(docs: List[Doc], max_span_length: int, spans_key: str, ignore_key: str,
                   where: PathLike) -> Dynamics:
    """The sample table of a corpus without a recording: every candidate
    span, no epochs."""
    if max_span_length < 1:
        raise DynCleanError(f"evidence.max_span_length must be at least 1, not {max_span_length}")
    labels = sorted({s.label_ for d in docs for s in gold_spans(d, spans_key)})
    if not labels:
        raise DynCleanError(f"{where}: the corpus has no entities, so there is nothing to learn labels from")
    index = SampleIndex.from_docs(docs, labels, max_span_length=max_span_length, spans_key=spans_key,
                                  ignore_key=ignore_key)
    n = len(index)
    meta = {"recorded": False, "epochs": [], "settings": {"spans_key": spans_key, "ignore_key": ignore_key}}
    return Dynamics.from_index(index, numpy.zeros((n, 0), "float32"), numpy.zeros((n, 0), "float16"),
                               numpy.zeros((n, 0), "int8"), meta)
