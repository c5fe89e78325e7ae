"""`dynclean_ner`: a span-based NER component (DynClean / PURE formulation)
on spaCy's single-label span categorizer, which records training dynamics.

Every span of up to `max_span_length` tokens is a sample, labelled with its
entity type or as non-entity; the model is spancat's (tok2vec or transformer
listener, reducer, softmax scorer). On top of `spancat_singlelabel` it adds:
margin recording, threshold samples, ignored spans, negative sampling, and
`doc.ents` output with entity scores.
"""
import math
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline.spancat import SpanCategorizer, build_ngram_range_suggester
from spacy.tokens import Doc, SpanGroup
from spacy.training import Example, validate_get_examples
from spacy.util import minibatch
from thinc.api import Model
from thinc.types import Floats2d, Ragged
from wasabi import msg

from spacy_dynclean.recording.dynamics import DynamicsRecorder
from spacy_dynclean.recording.settings import DEFAULT_MODEL, name_requirement, validate_settings
from spacy_dynclean.recording.samples import (
    FLAG_IGNORED,
    SampleIndex,
    candidate_row,
    gold_spans,
    select_threshold_samples,
)
from spacy_dynclean.util import DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DOC_ID_KEY, DynCleanError




@Language.factory(
    "dynclean_ner",
    assigns=["doc.ents", "doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "spans_key": DEFAULT_SPANS_KEY,
        "ignore_key": DEFAULT_IGNORE_KEY,
        "max_span_length": 8,
        "negative_weight": 1.0,
        "negative_sampling": "all",
        "negative_fraction": 1.0,
        "dynamics_mode": "update",
        "threshold_samples": False,
        "threshold_label": "swap",
        "threshold_positives": None,
        "threshold_negatives": None,
        "threshold_negative_pool": "disjoint",
        "seed": 0,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_dynclean_ner(
    nlp: Language,
    name: str,
    model: Model[Tuple[List[Doc], Ragged], Floats2d],
    spans_key: str,
    ignore_key: str,
    max_span_length: int,
    negative_weight: float,
    negative_sampling: str,
    negative_fraction: float,
    dynamics_mode: str,
    threshold_samples: bool,
    threshold_label: str,
    threshold_positives: Optional[int],
    threshold_negatives: Optional[int],
    threshold_negative_pool: str,
    seed: int,
    scorer: Optional[Callable],
) -> "DynCleanNER":
    """Create a `DynCleanNER`; see the class for the settings."""
    return DynCleanNER(
        nlp.vocab, model, name, spans_key=spans_key, ignore_key=ignore_key,
        max_span_length=max_span_length, negative_weight=negative_weight,
        negative_sampling=negative_sampling, negative_fraction=negative_fraction,
        dynamics_mode=dynamics_mode, threshold_samples=threshold_samples,
        threshold_label=threshold_label, threshold_positives=threshold_positives,
        threshold_negatives=threshold_negatives,
        threshold_negative_pool=threshold_negative_pool, seed=seed, scorer=scorer,
    )


class DynCleanNER(SpanCategorizer):
    """Single-label span classifier over all spans up to `max_span_length`
    tokens, which sets `doc.ents` and `doc.spans[spans_key]`.

    Training settings (in `self.cfg`): `ignore_key`, the span group whose spans
    the loss skips; `negative_sampling` ("all", "random" or "hard": the
    `negative_fraction` most entity-like non-entity spans of each batch) and
    `negative_weight`; `threshold_samples` and its `threshold_*` settings
    (see `select_threshold_samples`); `dynamics_mode` ("update": margins from
    the training forward pass; "epoch": an eval-mode pass after each epoch).
    Recording only happens when the `spacy-dynclean.record_dynamics.v1`
    callback starts it.
    """

    def __init__(
        self, vocab, model: Model, name: str = "dynclean_ner", *,
        spans_key: str = DEFAULT_SPANS_KEY, ignore_key: str = DEFAULT_IGNORE_KEY,
        max_span_length: int = 8, negative_weight: float = 1.0,
        negative_sampling: str = "all", negative_fraction: float = 1.0,
        dynamics_mode: str = "update", threshold_samples: bool = False,
        threshold_label: str = "fake", threshold_positives: Optional[int] = None,
        threshold_negatives: Optional[int] = None, threshold_negative_pool: str = "all",
        seed: int = 0, scorer: Optional[Callable] = None,
    ) -> None:
        validate_settings(
            max_span_length=max_span_length, negative_weight=negative_weight,
            negative_sampling=negative_sampling, negative_fraction=negative_fraction,
            dynamics_mode=dynamics_mode, threshold_label=threshold_label,
            threshold_positives=threshold_positives, threshold_negatives=threshold_negatives,
            threshold_negative_pool=threshold_negative_pool,
        )
        super().__init__(
            vocab, model, build_ngram_range_suggester(1, max_span_length), name,
            add_negative_label=True, spans_key=spans_key, threshold=None, max_positive=1,
            negative_weight=negative_weight, allow_overlap=False, scorer=scorer,
        )
        self.cfg.update({
            "ignore_key": ignore_key,
            "max_span_length": max_span_length,
            "negative_sampling": negative_sampling,
            "negative_fraction": negative_fraction,
            "dynamics_mode": dynamics_mode,
            "threshold_samples": threshold_samples,
            "threshold_label": threshold_label,
            "threshold_positives": threshold_positives,
            "threshold_negatives": threshold_negatives,
            "threshold_negative_pool": threshold_negative_pool,
            "seed": seed,
        })
        self.index: Optional[SampleIndex] = None
        self.recorder: Optional[DynamicsRecorder] = None
        # set when a one-run cleaning has replaced the training targets (not saved with the pipeline)
        self.targets_replaced = False
        self._train_words: List[List[str]] = []

    @property
    def _has_fake_label(self) -> bool:
        return bool(self.cfg["threshold_samples"]) and self.cfg["threshold_label"] == "fake"

    @property
    def _n_labels(self) -> int:
        return len(self.labels) + 1 + int(self._has_fake_label)

    @property
    def max_span_length(self) -> int:
        return int(self.cfg["max_span_length"])

    def predict(self, docs: Iterable[Doc]):
        """Candidate spans and their label probabilities, without the fake
        threshold class, which is never predicted."""
        indices, scores = super().predict(docs)
        if self._has_fake_label and scores.shape[0]:
            scores = scores[:, : len(self.labels) + 1]
        return indices, scores

    def set_annotations(self, docs: Iterable[Doc], indices_scores) -> None:
        """Set non-overlapping entities (greedy by probability) as
        `doc.ents` and `doc.spans[spans_key]`."""
        indices, scores = indices_scores
        offset = 0
        for i, doc in enumerate(docs):
            n = int(indices.lengths[i])
            group = self._make_span_group_singlelabel(
                doc, indices[i].dataXd, scores[offset : offset + n], allow_overlap=False
            )
            order = sorted(range(len(group)), key=lambda j: group[j].start)
            spans = [group[j] for j in order]
            sorted_group = SpanGroup(doc, name=self.key, spans=spans)
            sorted_group.attrs["scores"] = numpy.asarray(group.attrs["scores"])[order]
            doc.spans[self.key] = sorted_group
            doc.ents = spans
            offset += n

    def _aligned(self, eg: Example, spans) -> list:
        return eg.get_aligned_spans_y2x(spans, allow_overlap=True)

    def get_loss(  # type: ignore[override]  # spaCy annotates d_scores as float
        self, examples: Iterable[Example], spans_scores: Tuple[Ragged, Floats2d]
    ) -> Tuple[float, Floats2d]:
        """Softmax cross-entropy gradient (thinc's Softmax backprop takes
        `probs - target`) over the candidates, with ignored spans skipped and
        negatives sampled; records margins in "update" mode."""
        spans, scores = spans_scores
        ops = self.model.ops
        probs = ops.to_numpy(scores)
        lengths = ops.to_numpy(spans.lengths)
        n_rows = probs.shape[0]
        neg = len(self.labels)
        assigned = numpy.full(n_rows, neg, dtype="int64")
        weight = numpy.ones(n_rows, dtype="float32")
        plain_negative = numpy.ones(n_rows, dtype=bool)
        recording = self.recorder is not None and self.recorder.mode == "update"
        global_rows: List[numpy.ndarray] = []
        index = self.index
        offset = 0
        for i, eg in enumerate(examples):
            n_i = int(lengths[i])
            did = eg.reference.user_data.get(DOC_ID_KEY)
            if index is not None and did in index.doc_pos:
                b, e = index.rows_for(did)
                if e - b != n_i:
                    raise DynCleanError(
                        f"training doc {did}: {n_i} candidate spans, {e - b} at initialization "
                        "(was the doc re-tokenized? convert with spaCy-dynclean or set gold_preproc)"
                    )
                assigned[offset : offset + n_i] = index.assigned[b:e]
                plain_negative[offset : offset + n_i] = index.assigned[b:e] == neg
                ignored = (index.flags[b:e] & FLAG_IGNORED) > 0
                weight[offset : offset + n_i][ignored] = 0.0
                if recording:
                    global_rows.append(numpy.arange(b, e))
            else:
                if recording:
                    raise DynCleanError(
                        f"training doc {did!r} was not in the corpus the component was initialized on"
                    )
                self._reference_targets(eg, offset, assigned, plain_negative, weight)
            offset += n_i
        plain_negative &= weight > 0
        self._sample_negatives(probs, plain_negative, weight)
        target = numpy.zeros_like(probs)
        target[numpy.arange(n_rows), assigned] = 1.0
        d_scores = (probs - target) * weight[:, None]
        if recording and self.recorder is not None:
            self.recorder.record(numpy.concatenate(global_rows), probs)
        loss = float((d_scores**2).sum())
        return loss, ops.asarray2f(d_scores)

    def _reference_targets(self, eg: Example, offset: int, assigned: numpy.ndarray, plain_negative: numpy.ndarray,
                           weight: numpy.ndarray) -> None:
        """Targets of a doc the component was not initialized on, from its reference annotation."""
        n_tok = len(eg.predicted)
        for span in self._aligned(eg, gold_spans(eg.reference, self.key)):
            row = candidate_row(span.start, span.end, n_tok, self.max_span_length)
            if row >= 0 and span.label_ in self._label_map:
                assigned[offset + row] = self._label_map[span.label_]
                plain_negative[offset + row] = False
        for span in self._aligned(eg, eg.reference.spans.get(self.cfg["ignore_key"], [])):
            row = candidate_row(span.start, span.end, n_tok, self.max_span_length)
            if row >= 0:
                weight[offset + row] = 0.0

    def _sample_negatives(
        self, probs: numpy.ndarray, negative: numpy.ndarray, weight: numpy.ndarray
    ) -> None:
        """Scale the weight of plain negatives in place: all of them by
        `negative_weight`, and drop those that sampling leaves out."""
        weight[negative] *= float(self.cfg["negative_weight"])
        fraction = float(self.cfg["negative_fraction"])
        strategy = self.cfg["negative_sampling"]
        if strategy == "all" or fraction >= 1.0:
            return
        rows = numpy.nonzero(negative)[0]
        keep = int(math.ceil(fraction * len(rows)))
        if strategy == "random":
            kept = numpy.random.permutation(rows)[:keep]
        else:  # "hard": the most entity-like non-entity spans
            entity_likeness = 1.0 - probs[rows, len(self.labels)]
            kept = rows[numpy.argsort(-entity_likeness, kind="stable")[:keep]]
        dropped = numpy.ones(len(weight), dtype=bool)
        dropped[kept] = False
        weight[negative & dropped] = 0.0

    def initialize(
        self, get_examples: Callable[[], Iterable[Example]], *,
        nlp: Optional[Language] = None, labels: Optional[List[str]] = None,
    ) -> None:
        """Add labels, index the training corpus's span samples (docs
        converted by spacy-dynclean carry ids), choose threshold samples when
        they are on, and initialize the model."""
        validate_get_examples(get_examples, "DynCleanNER.initialize")
        if nlp is not None:  # the saved pipeline's meta.json names the package its factory needs
            name_requirement(nlp.meta)
        examples = list(get_examples())
        if labels is None:
            found = {s.label_ for eg in examples for s in gold_spans(eg.reference, self.key)}
            labels = sorted(found)
        for label in labels:
            self.add_label(label)
        self._require_labels()
        has_ids = bool(examples) and all(DOC_ID_KEY in eg.reference.user_data for eg in examples)
        self.index = None
        self._train_words = []
        if has_ids:
            self.index = SampleIndex.from_docs(
                [eg.reference for eg in examples], self.labels,
                max_span_length=self.max_span_length, spans_key=self.key,
                ignore_key=self.cfg["ignore_key"],
            )
            by_id = {eg.reference.user_data[DOC_ID_KEY]: eg for eg in examples}
            self._train_words = [[t.text for t in by_id[d].predicted] for d in self.index.doc_ids]
            if self.cfg["threshold_samples"]:
                rows = select_threshold_samples(
                    self.index, seed=int(self.cfg["seed"]),
                    n_positives=self.cfg["threshold_positives"],
                    n_negatives=self.cfg["threshold_negatives"],
                    label_mode=self.cfg["threshold_label"],
                    negative_pool=self.cfg["threshold_negative_pool"],
                )
                n_pos = int((self.index.label[rows] < len(self.labels)).sum())
                msg.info(
                    f"{self.name}: {len(rows)} threshold samples "
                    f"({n_pos} positive, {len(rows) - n_pos} negative, label mode "
                    f"'{self.cfg['threshold_label']}')"
                )
            if self.index.too_long:
                msg.warn(
                    f"{self.name}: {self.index.too_long} entities of the training labels are longer than "
                    f"max_span_length={self.max_span_length} tokens and cannot be learned"
                )
        elif self.cfg["threshold_samples"]:
            raise DynCleanError(
                "threshold samples need training docs with sample ids: convert the corpus "
                "with `python -m spacy_dynclean convert`"
            )
        subbatch = [eg.predicted for eg in examples[:10]]
        if subbatch:
            spans = build_ngram_range_suggester(1, 1)(subbatch)
            Y = self.model.ops.alloc2f(spans.dataXd.shape[0], self._n_labels)
            self.model.initialize(X=(subbatch, spans), Y=Y)
        else:
            self.model.initialize()

    def replace_targets(self, docs: List[Doc], dropped: List[Doc]) -> None:
        """Train from here on on the labels of `docs` (a corrected copy of the
        training corpus): the sample index is rebuilt from them; every sample
        of a `dropped` doc (nothing left to learn) is ignored. Recording stops:
        the new targets are not the ones the recorded dynamics were measured on."""
        if self.index is None:
            raise DynCleanError(f"{self.name}: no sample index: the training docs have no sample ids")
        index = SampleIndex.from_docs(
            [*docs, *dropped], self.labels, max_span_length=self.max_span_length, spans_key=self.key,
            ignore_key=self.cfg["ignore_key"],
        )
        if index.doc_ids != self.index.doc_ids or len(index) != len(self.index):
            raise DynCleanError(f"{self.name}: the corrected corpus holds other docs than the training corpus")
        for doc in dropped:
            b, e = index.rows_for(doc.user_data[DOC_ID_KEY])
            index.flags[b:e] |= FLAG_IGNORED
        self.index = index
        self.recorder = None
        self.targets_replaced = True

    def start_recording(self, output_dir: Optional[str], meta: Optional[Dict[str, Any]] = None) -> DynamicsRecorder:
        """Attach a recorder (called by the training callback)."""
        if self.index is None:
            raise DynCleanError(
                f"{self.name}: cannot record dynamics: the training docs have no sample ids "
                "(convert the corpus with `python -m spacy_dynclean convert`)"
            )
        settings = {k: self.cfg[k] for k in (
            "spans_key", "ignore_key",
            "threshold_samples", "threshold_label", "threshold_positives",
            "threshold_negatives", "threshold_negative_pool", "seed",
            "negative_sampling", "negative_fraction", "negative_weight",
        )}
        self.recorder = DynamicsRecorder(
            self.index, mode=self.cfg["dynamics_mode"], output_dir=output_dir,
            meta={"component": self.name, "settings": settings, **(meta or {})},
        )
        return self.recorder

    def record_epoch_pass(self, nlp: Language, batch_size: int = 128) -> None:
        """Score every training sample in eval mode (no dropout) with the
        current weights, through the pipeline's upstream components."""
        if self.recorder is None or self.index is None:
            return
        start = time.time()
        names = nlp.pipe_names
        disable = names[names.index(self.name):] if self.name in names else []
        index = self.index
        row = 0
        docs = (Doc(nlp.vocab, words=words) for words in self._train_words)
        processed = nlp.pipe(docs, batch_size=batch_size, disable=disable)
        for batch in minibatch(processed, size=batch_size):
            indices = self.suggester(batch, ops=self.model.ops)
            n = int(self.model.ops.to_numpy(indices.lengths).sum())
            if n:
                probs = self.model.ops.to_numpy(self.model.predict((batch, indices)))
                self.recorder.record(numpy.arange(row, row + n), probs)
            row += n
        if row != len(index):
            raise DynCleanError(f"{self.name}: epoch pass scored {row} samples, expected {len(index)}")
        msg.info(f"{self.name}: epoch pass over {len(self._train_words)} docs in {time.time() - start:.1f}s")
