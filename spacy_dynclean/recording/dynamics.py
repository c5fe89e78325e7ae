"""Training dynamics: the per-epoch margin of every span sample.

`DynamicsRecorder` fills the arrays during `spacy train`; `Dynamics` is the
file on disk (one ``dynamics.npz`` per directory, replaced atomically after
each epoch, so a crash keeps the completed epochs) and its Python API.
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy
from spacy.tokens import Doc

from spacy_dynclean.recording.samples import FLAG_IGNORED, FLAG_POSITIVE, FLAG_THRESHOLD, SampleIndex, gold_spans
from spacy_dynclean.util import DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike

FILE_NAME = "dynamics.npz"
FORMAT_VERSION = 1
_ARRAYS = ("doc", "start", "end", "label", "assigned", "flags")


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
    ([start, end) token offsets).
    """

    def __init__(self, meta: Dict[str, Any], arrays: Dict[str, numpy.ndarray]) -> None:
        self.meta = meta
        self.doc_ids: List[str] = list(meta["doc_ids"])
        self.doc = arrays["doc"]
        self.start = arrays["start"]
        self.end = arrays["end"]
        self.label = arrays["label"]
        self.assigned = arrays["assigned"]
        self.flags = arrays["flags"]
        self.margins = arrays["margins"]
        self.probs = arrays["probs"]
        self.pred = arrays["pred"]
        self._doc_bases: Optional[numpy.ndarray] = None

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
        return int(self.margins.shape[1])

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
        k = self.n_epochs if k is None else k
        if k < 1:
            raise DynCleanError(f"k (epochs to average) must be at least 1, not {k}")
        return self.margins[:, : min(k, self.n_epochs)].mean(axis=1)

    def keys(self) -> List[tuple]:
        """(doc id, start, end) of every sample."""
        ids = self.doc_ids
        return [(ids[d], int(s), int(e)) for d, s, e in zip(self.doc, self.start, self.end)]

    def to_disk(self, path: PathLike) -> None:
        """Write DIR/dynamics.npz atomically."""
        path = Path(path)
        if path.suffix == ".npz":
            raise DynCleanError(f"{path}: give the dynamics directory, not the file")
        from spacy_dynclean.outputs import one_output

        arrays = {name: getattr(self, name) for name in _ARRAYS}
        with one_output(path / FILE_NAME) as tmp:
            with open(tmp, "wb") as f:
                numpy.savez(
                    f, meta=numpy.frombuffer(json.dumps(self.meta).encode("utf8"), dtype="uint8"),
                    margins=self.margins, probs=self.probs, pred=self.pred, **arrays,
                )

    @classmethod
    def from_disk(cls, path: PathLike) -> "Dynamics":
        """Load DIR (or DIR/dynamics.npz) and validate it: a missing, empty,
        truncated or corrupt file, arrays of the wrong shape and NaN or
        infinite margins are each an error naming the file."""
        path = Path(path)
        file = path if path.suffix == ".npz" else path / FILE_NAME
        if path.suffix != ".npz" and path.exists() and not path.is_dir():
            raise DynCleanError(f"{path}: give the dynamics folder (it holds {FILE_NAME}), not a file")
        if not file.exists():
            raise DynCleanError(f"{file}: no dynamics file (did the training run record dynamics?)")
        if file.is_dir():
            raise DynCleanError(f"{file}: is a folder, not a dynamics file")
        try:
            if file.stat().st_size == 0:
                raise ValueError("the file is empty")
            with numpy.load(file, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf8"))
                arrays = {k: data[k] for k in (*_ARRAYS, "margins", "probs", "pred")}
        except OSError as e:
            raise DynCleanError(f"{file}: cannot be read ({e.strerror or e})") from None
        except Exception as e:  # zip, npy and JSON errors of a truncated or foreign file
            raise DynCleanError(
                f"{file}: not a readable dynamics file, truncated or corrupt? ({type(e).__name__}: {e})"
            ) from None
        if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            version = meta.get("format_version") if isinstance(meta, dict) else None
            raise DynCleanError(f"{file}: unsupported dynamics format {version!r}")
        dyn = cls(meta, arrays)
        dyn.validate(str(file))
        return dyn

    def validate(self, where: str) -> None:
        """Shapes and values a recording writes; an error naming `where` otherwise."""
        n = len(self.label)
        for name in _ARRAYS:
            arr = getattr(self, name)
            if arr.ndim != 1 or len(arr) != n:
                raise DynCleanError(f"{where}: array {name!r} has shape {arr.shape}, expected ({n},)")
        for name in ("margins", "probs", "pred"):
            arr = getattr(self, name)
            if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] != self.margins.shape[1]:
                raise DynCleanError(f"{where}: array {name!r} has shape {arr.shape}, expected ({n}, epochs)")
        if not isinstance(self.meta.get("labels"), list) or not isinstance(self.meta.get("doc_ids"), list):
            raise DynCleanError(f"{where}: the metadata lack the labels or the doc ids")
        if n and (int(self.doc.max()) >= len(self.doc_ids) or int(self.doc.min()) < 0):
            raise DynCleanError(f"{where}: sample doc numbers do not match the {len(self.doc_ids)} doc ids")
        if "n_samples" in self.meta and self.meta["n_samples"] != n:
            raise DynCleanError(f"{where}: {n} samples, the metadata say {self.meta['n_samples']}")
        n_labels = len(self.labels)
        if n and (int(self.label.max()) > n_labels or int(self.label.min()) < 0):
            raise DynCleanError(f"{where}: sample labels out of range for the labels {self.labels}")
        bad = int((~numpy.isfinite(self.margins)).sum())
        if bad:
            raise DynCleanError(
                f"{where}: {bad:,} margins are NaN or infinite (did the recording run diverge?); "
                "record the run again"
            )
        probs = self.probs.astype("float32")
        bad = int((~(numpy.isfinite(probs) & (probs >= 0) & (probs <= 1))).sum())
        if bad:
            raise DynCleanError(f"{where}: {bad:,} probabilities are NaN or outside 0..1; record the run again")
        if self.pred.size and (int(self.pred.min()) < 0 or int(self.pred.max()) > n_labels):
            raise DynCleanError(f"{where}: predicted labels out of range for the labels {self.labels} "
                                f"(0..{n_labels}, the last: non-entity)")

    @classmethod
    def from_index(
        cls, index: SampleIndex, margins: numpy.ndarray, probs: numpy.ndarray,
        pred: numpy.ndarray, meta: Dict[str, Any],
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
        arrays = {name: getattr(index, name) for name in _ARRAYS}
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
        """Append the current column and write the file."""
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
        n = len(self.index)
        margins = numpy.stack(self._margins, axis=1) if self._margins else numpy.zeros((n, 0), "float32")
        probs = numpy.stack(self._probs, axis=1) if self._probs else numpy.zeros((n, 0), "float16")
        pred = numpy.stack(self._preds, axis=1) if self._preds else numpy.zeros((n, 0), "int8")
        meta = {"mode": self.mode, "epochs": list(self.epochs), **self.meta}
        return Dynamics.from_index(self.index, margins, probs, pred, meta)

    def write(self) -> None:
        if self.output_dir is not None:
            self.to_dynamics().to_disk(self.output_dir)


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
