"""Strategies: how a decision's flags change the corpus.

`remove` (the default): a flagged positive leaves `doc.ents` and the span
group; every flagged sample goes into the ignore span group (the span
component learns it neither as entity nor as non-entity) and its tokens become
*missing* in `doc.ents` (so spaCy's stock `ner` can train on partial
annotation). `relabel`: a flagged sample whose model prediction was stable over
the first k epochs takes the predicted label instead (an entity, or dropped to
non-entity), and only the rest are masked. A doc with every token missing is
dropped and counted. The input docs are never modified.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Dict, List, Optional, Set, Tuple, Union

import numpy
from spacy.tokens import Doc, Span
from spacy.util import registry

from .decision import Flags, Strategy
from .detectors import Suspicion, check_k, check_range, validate_k
from .dynamics import Dynamics
from .evidence import Evidence
from .samples import doc_id, gold_spans
from .scores import resolve_k
from .util import CHANGES_KEY, DynCleanError

STRATEGIES = ("remove", "relabel")


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
    strategy: str = "remove"


def clean_docs(
    docs: List[Doc], dynamics: Dynamics, flags: Flags, *, strategy: str = "remove",
    k: Optional[int] = None, min_agreement: float = 1.0,
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
        stable = stable_prediction(dynamics, rows, k, min_agreement)
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
        if strategy != "remove":  # a relabelled doc may have no mask: say that `clean` changed it
            new.user_data[CHANGES_KEY] = len(items)
        out.append(new)
    stats.docs_out = len(out)
    stats.strategy = strategy
    return out, stats


def remove(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion]) -> Tuple[List[Doc], CleanStats]:
    """Mask every flagged sample (a flagged positive leaves the entities)."""
    return clean_docs(evidence.docs, evidence.samples, flags, strategy="remove")


def relabel(evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion], *,
            k: Union[int, str, None] = "auto", min_agreement: float = 1.0) -> Tuple[List[Doc], CleanStats]:
    """Give a flagged sample the recording run's stable prediction over the
    first k epochs; mask the rest."""
    dynamics = evidence.require("dynamics")
    check_k(k, dynamics.n_epochs, evidence.paths.get("dynamics"))
    return clean_docs(evidence.docs, dynamics, flags, strategy="relabel", k=resolve_k(dynamics, k),
                      min_agreement=min_agreement)


@registry.misc("spacy-dynclean.remove.v1")
def remove_strategy() -> Strategy:
    """Mask flagged samples: the span component skips them, and their tokens
    are missing for spaCy's stock `ner`."""
    return remove


@registry.misc("spacy-dynclean.relabel.v1")
def relabel_strategy(k: Union[int, str, None] = "auto", min_agreement: float = 1.0) -> Strategy:
    """Relabel flagged samples with the recording run's prediction where it
    was the same in at least `min_agreement` of the first k epochs."""
    check_range("min_agreement", min_agreement, 0, 1)
    return partial(relabel, k=validate_k(k), min_agreement=min_agreement)
