"""The span samples of a training corpus: every span of up to
`max_span_length` tokens of every doc, in the order spaCy's
``ngram_range_suggester`` proposes them (by size, then start).

Because that order is fixed, a sample's row is computed from (doc, start, end)
arithmetically, and the index stays O(docs) plus a few small arrays per sample.
"""
import hashlib
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc, Span

from spacy_dynclean.util import DOC_ID_KEY, DynCleanError

FLAG_POSITIVE = 1
FLAG_THRESHOLD = 2
FLAG_IGNORED = 4
THRESHOLD_LABEL_MODES = ("fake", "random", "swap")


def n_candidates(n_tokens: int, max_span_length: int) -> int:
    """Number of spans of 1..max_span_length tokens in a doc of n_tokens."""
    m = min(n_tokens, max_span_length)
    return m * (n_tokens + 1) - m * (m + 1) // 2


def candidate_row(start: int, end: int, n_tokens: int, max_span_length: int) -> int:
    """Row of span [start, end) among a doc's candidates, or -1 if it is not one."""
    size = end - start
    if size < 1 or size > max_span_length or start < 0 or end > n_tokens:
        return -1
    return (size - 1) * (n_tokens + 1) - (size - 1) * size // 2 + start


def candidate_spans(n_tokens: int, max_span_length: int) -> numpy.ndarray:
    """(n_candidates, 2) array of [start, end) offsets, in suggester order."""
    parts = []
    for size in range(1, min(n_tokens, max_span_length) + 1):
        starts = numpy.arange(n_tokens - size + 1, dtype="int32")
        parts.append(numpy.stack([starts, starts + size], axis=1))
    if not parts:
        return numpy.zeros((0, 2), dtype="int32")
    return numpy.concatenate(parts)


def gold_spans(doc: Doc, spans_key: str) -> List[Span]:
    """The entities a span component learns from: the span group if present,
    else `doc.ents`."""
    if spans_key in doc.spans:
        return list(doc.spans[spans_key])
    return list(doc.ents)


def changed_non_entities(distant: Doc, cleaned: Optional[Doc], max_span_length: int, spans_key: str,
                         ignore_key: str) -> int:
    """Spans that were not distant entities and are masked or entities in
    the cleaned doc (None: a dropped doc, every non-entity candidate gone):
    what a cleaning did to the negatives, read from the corpus it wrote.
    It counts more than the flagged negatives where the strategy re-bounds
    or adds an entity (the new span) or masks a region (every span in it)."""
    d_spans = {(s.start, s.end) for s in gold_spans(distant, spans_key)}
    if cleaned is None:
        return n_candidates(len(distant), max_span_length) - len(d_spans)
    changed = {(s.start, s.end) for s in cleaned.spans.get(ignore_key, [])}
    changed |= {(s.start, s.end) for s in gold_spans(cleaned, spans_key)}
    return len(changed - d_spans)


def doc_id(doc: Doc, where: str = "") -> str:
    value = doc.user_data.get(DOC_ID_KEY)
    if not isinstance(value, str):
        raise DynCleanError(
            f"{where or 'a training doc'} has no sample id (doc.user_data[{DOC_ID_KEY!r}]): "
            "convert the corpus with `python -m spacy_dynclean convert`"
        )
    return value


def corpus_fingerprint(docs: Iterable[Doc], spans_key: str, ignore_key: str) -> str:
    """A hash of the corpus as the span component sees it: doc ids, tokens,
    entities and ignored spans, independent of doc order."""
    items = []
    for doc in docs:
        ents = sorted((s.start, s.end, s.label_) for s in gold_spans(doc, spans_key))
        ignored = sorted((s.start, s.end) for s in doc.spans.get(ignore_key, []))
        items.append((doc_id(doc), [t.text for t in doc], ents, ignored))
    items.sort(key=lambda x: x[0])
    h = hashlib.sha1()
    for item in items:
        h.update(repr(item).encode("utf8"))
    return h.hexdigest()


def docs_by_id(docs: List[Doc]) -> Dict[str, Doc]:
    """The training docs by sample id; a doc without an id or a duplicate id is an error."""
    by_id: Dict[str, Doc] = {}
    for i, doc in enumerate(docs):
        did = doc_id(doc, f"training doc {i}")
        if did in by_id:
            raise DynCleanError(f"training doc {i}: duplicate sample id {did!r}")
        by_id[did] = doc
    return by_id


@dataclass
class SampleIndex:
    """Every candidate span of a corpus, docs sorted by id.

    `label` is the column of the sample's distant label (entity labels first,
    then the non-entity column `len(labels)`); `assigned` the column it is
    trained with (differs for threshold samples); `flags` bits say positive,
    threshold sample, ignored.
    """

    labels: Tuple[str, ...]
    max_span_length: int
    doc_ids: List[str]
    doc_pos: Dict[str, int]
    doc_bases: numpy.ndarray
    doc_lengths: numpy.ndarray
    doc: numpy.ndarray
    start: numpy.ndarray
    end: numpy.ndarray
    label: numpy.ndarray
    assigned: numpy.ndarray
    flags: numpy.ndarray
    fingerprint: str
    too_long: int

    def __len__(self) -> int:
        return len(self.label)

    @property
    def negative_column(self) -> int:
        return len(self.labels)

    def rows_for(self, doc_id: str) -> Tuple[int, int]:
        """[begin, end) rows of a doc's candidates; KeyError if unknown."""
        i = self.doc_pos[doc_id]
        base = int(self.doc_bases[i])
        return base, base + n_candidates(int(self.doc_lengths[i]), self.max_span_length)

    @classmethod
    def from_docs(
        cls, docs: Iterable[Doc], labels: Sequence[str], *, max_span_length: int,
        spans_key: str, ignore_key: str, fingerprint: bool = True,
    ) -> "SampleIndex":
        """Every candidate span of `docs` (ordered by doc id), labelled from
        the `spans_key` group and flagged ignored from `ignore_key`; without
        `fingerprint`, the corpus's hash is left empty."""
        docs = list(docs)
        label_map = {label: i for i, label in enumerate(labels)}
        neg = len(labels)
        by_id = docs_by_id(docs)
        doc_ids = sorted(by_id)
        lengths = numpy.array([len(by_id[d]) for d in doc_ids], dtype="int64")
        counts = numpy.array([n_candidates(int(n), max_span_length) for n in lengths], dtype="int64")
        bases = numpy.concatenate([[0], numpy.cumsum(counts)[:-1]]) if len(counts) else counts
        total = int(counts.sum())
        doc_col = numpy.repeat(numpy.arange(len(doc_ids), dtype="int32"), counts)
        starts = numpy.empty(total, dtype="int32")
        ends = numpy.empty(total, dtype="int32")
        label_col = numpy.full(total, neg, dtype="int16")
        flags = numpy.zeros(total, dtype="uint8")
        cache: Dict[int, numpy.ndarray] = {}
        too_long = 0
        for i, did in enumerate(doc_ids):
            n = int(lengths[i])
            if n not in cache:
                cache[n] = candidate_spans(n, max_span_length)
            b, c = int(bases[i]), int(counts[i])
            starts[b : b + c] = cache[n][:, 0]
            ends[b : b + c] = cache[n][:, 1]
            doc = by_id[did]
            for span in gold_spans(doc, spans_key):
                row = candidate_row(span.start, span.end, n, max_span_length)
                if row < 0:
                    too_long += 1
                    continue
                if span.label_ not in label_map:
                    raise DynCleanError(f"training doc {did}: unknown label {span.label_!r}")
                label_col[b + row] = label_map[span.label_]
                flags[b + row] |= FLAG_POSITIVE
            for span in doc.spans.get(ignore_key, []):
                row = candidate_row(span.start, span.end, n, max_span_length)
                if row >= 0:
                    flags[b + row] |= FLAG_IGNORED
        return cls(
            labels=tuple(labels),
            max_span_length=max_span_length,
            doc_ids=doc_ids,
            doc_pos={d: i for i, d in enumerate(doc_ids)},
            doc_bases=bases,
            doc_lengths=lengths,
            doc=doc_col,
            start=starts,
            end=ends,
            label=label_col,
            assigned=label_col.copy(),
            flags=flags,
            fingerprint=corpus_fingerprint(docs, spans_key, ignore_key) if fingerprint else "",
            too_long=too_long,
        )


def stratified_positives(index: "SampleIndex", pos_rows: numpy.ndarray, n_positives: int,
                         rng: numpy.random.Generator) -> List[numpy.ndarray]:
    """`n_positives` rows of `pos_rows`, stratified by label (the rounding
    remainder goes to the largest labels), sorted per label."""
    n_labels = len(index.labels)
    chosen: List[numpy.ndarray] = []
    if not len(pos_rows) or n_positives <= 0:
        return chosen
    labels_of = index.label[pos_rows]
    counts = numpy.bincount(labels_of, minlength=n_labels)
    quota = numpy.floor(counts * n_positives / counts.sum()).astype(int)
    for j in numpy.argsort(-counts)[: n_positives - int(quota.sum())]:
        quota[j] += 1
    for j in range(n_labels):
        rows_j = pos_rows[labels_of == j]
        k = min(int(quota[j]), len(rows_j))
        if k:
            chosen.append(numpy.sort(rng.choice(rows_j, size=k, replace=False)))
    return chosen


def assign_threshold_labels(index: "SampleIndex", rows: numpy.ndarray, label_mode: str,
                            rng: numpy.random.Generator) -> None:
    """The `assigned` column of the threshold samples `rows` (see `select_threshold_samples`)."""
    n_labels = len(index.labels)
    if label_mode == "fake":
        index.assigned[rows] = n_labels + 1
    elif label_mode == "swap":
        was_positive = index.label[rows] < n_labels
        random_entity = rng.integers(0, n_labels, size=len(rows))
        index.assigned[rows] = numpy.where(was_positive, n_labels, random_entity).astype("int16")
    else:
        own = index.label[rows].astype("int64")
        shift = rng.integers(1, n_labels + 1, size=len(rows))  # 1..n_labels
        index.assigned[rows] = ((own + shift) % (n_labels + 1)).astype("int16")


def select_threshold_samples(
    index: SampleIndex, *, seed: int, n_positives: Optional[int] = None,
    n_negatives: Optional[int] = None, label_mode: str = "fake",
    negative_pool: str = "all",
) -> numpy.ndarray:
    """Choose threshold samples and set their `assigned` column and flag in
    place; return their rows.

    Positives: `n_positives` (default N_pos / n_labels), stratified by label.
    Negatives: `n_negatives` (default as many as the positives), from all
    non-entity spans or (`negative_pool="disjoint"`) only those that overlap no
    distant entity. `label_mode="fake"` assigns the extra fake column
    `len(labels) + 1`; `"random"` a seeded random existing column other than
    the sample's own; `"swap"` turns positives into non-entities (simulated
    missed entities) and negatives into a random entity label (simulated
    spurious entities). Ignored samples are never chosen.
    """
    if label_mode not in THRESHOLD_LABEL_MODES:
        raise DynCleanError(f"threshold label mode must be one of {THRESHOLD_LABEL_MODES}, not {label_mode!r}")
    if negative_pool not in ("all", "disjoint"):
        raise DynCleanError(f"threshold negative pool must be 'all' or 'disjoint', not {negative_pool!r}")
    rng = numpy.random.default_rng(seed)
    n_labels = len(index.labels)
    usable = (index.flags & FLAG_IGNORED) == 0
    positive = ((index.flags & FLAG_POSITIVE) > 0) & usable
    pos_rows = numpy.nonzero(positive)[0]
    if n_positives is None:
        n_positives = len(pos_rows) // max(n_labels, 1)
    chosen = stratified_positives(index, pos_rows, n_positives, rng)
    n_pos_chosen = int(sum(len(c) for c in chosen))
    neg_mask = ~positive & usable
    if negative_pool == "disjoint":
        neg_mask &= ~overlaps_positive(index.doc, index.start, index.end, (index.flags & FLAG_POSITIVE) > 0)
    neg_rows = numpy.nonzero(neg_mask)[0]
    if n_negatives is None:
        n_negatives = n_pos_chosen
    k = min(n_negatives, len(neg_rows))
    if k:
        chosen.append(numpy.sort(rng.choice(neg_rows, size=k, replace=False)))
    rows = numpy.concatenate(chosen) if chosen else numpy.zeros(0, dtype="int64")
    assign_threshold_labels(index, rows, label_mode, rng)
    index.flags[rows] |= FLAG_THRESHOLD
    return rows


def overlaps_positive(
    doc: numpy.ndarray, start: numpy.ndarray, end: numpy.ndarray, positive: numpy.ndarray
) -> numpy.ndarray:
    """Per sample: does it share a token with a positive sample of its doc
    (and is not one itself)? Vectorized over all samples of a corpus."""
    n_docs = int(doc.max()) + 1 if len(doc) else 0
    lengths = numpy.zeros(n_docs, dtype="int64")
    numpy.maximum.at(lengths, doc, end)  # the longest end of a doc's spans is its length
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths)])
    diff = numpy.zeros(int(offsets[-1]) + 1, dtype="int64")
    base = offsets[doc[positive]]
    numpy.add.at(diff, base + start[positive], 1)
    numpy.add.at(diff, base + end[positive], -1)
    covered = numpy.cumsum(diff)[:-1] > 0
    cum = numpy.concatenate([[0], numpy.cumsum(covered)])
    base = offsets[doc]
    return ((cum[base + end] - cum[base + start]) > 0) & ~positive
