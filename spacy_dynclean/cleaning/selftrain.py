"""A self-training round: a pipeline trained on the cleaned (corrected)
corpus labels that corpus's masked regions, and a student is trained on the
result (BOND, Liang et al. 2020, fills unlabelled entities the same way).

The teacher never saw labels for the masked spans, so its predictions there
come from what it learned elsewhere. In each masked region the teacher
decides: its predicted entities that lie inside the region become entities,
the region's other tokens become non-entity. With `unlabelled_min_score`,
entities it predicts in unlabelled (non-entity) text with at least that
probability, touching no entity and no masked token, are added too. With
`keep_masked`, the teacher only adds: its entities inside a masked region
become entities and the region's other tokens stay masked (missing), as
they were (an added entity whose neighbours stay missing has no boundary
to learn; docs/decisions.md has the measurements).
"""
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from wasabi import msg

from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.evidence.heldout import load_pipeline
from spacy_dynclean.outputs import Outputs
from spacy_dynclean.recording.samples import gold_spans
from spacy_dynclean.util import CHANGES_KEY, DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike, write_json


def masked_regions(doc: Doc) -> List[Tuple[int, int]]:
    """Maximal runs of tokens whose entity annotation is missing."""
    regions: List[Tuple[int, int]] = []
    start: Optional[int] = None
    for t in doc:
        if t.ent_iob_ == "":
            start = t.i if start is None else start
        elif start is not None:
            regions.append((start, t.i))
            start = None
    if start is not None:
        regions.append((start, len(doc)))
    return regions


def predict(nlp: Language, docs: List[Doc], batch_size: int = 64) -> List[List[Tuple[int, int, str, float]]]:
    """The pipeline's entities for the words of each doc, with the
    probability of their label where the pipeline gives one (else 1.0)."""
    texts = (Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]) for d in docs)
    out: List[List[Tuple[int, int, str, float]]] = []
    step = max(1, len(docs) // 10)
    for i, pred in enumerate(nlp.pipe(texts, batch_size=batch_size)):
        scores: Dict[Tuple[int, int], float] = {}
        for key in pred.spans:
            group = pred.spans[key]
            values = group.attrs.get("scores") if hasattr(group, "attrs") else None
            if values is not None:
                for span, value in zip(group, values):
                    scores[(span.start, span.end)] = float(numpy.asarray(value).ravel().max())
        out.append([(e.start, e.end, e.label_, scores.get((e.start, e.end), 1.0)) for e in pred.ents])
        if (i + 1) % step == 0:
            msg.text(f"  {i + 1:,} / {len(docs):,} docs labelled", show=True)
    return out


def fill_docs(docs: List[Doc], predictions: List[List[Tuple[int, int, str, float]]], *,
              spans_key: str = DEFAULT_SPANS_KEY, ignore_key: str = DEFAULT_IGNORE_KEY,
              unlabelled_min_score: Optional[float] = None, keep_masked: bool = False
              ) -> Tuple[List[Doc], Dict[str, int]]:
    """Copies of `docs` with masked regions decided by the predictions (see
    the module docstring); returns the docs and counts of every change."""
    counts: Counter = Counter()
    out: List[Doc] = []
    for doc, preds in zip(docs, predictions):
        new = doc.copy()
        regions = masked_regions(doc)
        masked = {t for s, e in regions for t in range(s, e)}
        ents = {(s.start, s.end): s.label_ for s in gold_spans(doc, spans_key)}
        taken = {t for s, e in ents for t in range(s, e)}
        changed = 0
        for s, e, label, score in preds:
            inside = all(t in masked for t in range(s, e))
            if inside:
                ents[(s, e)] = label
                taken.update(range(s, e))
                counts["masked_filled_with_entity"] += 1
                changed += 1
            elif unlabelled_min_score is not None and score >= unlabelled_min_score and \
                    not any(t in masked or t in taken for t in range(max(0, s - 1), min(len(doc), e + 1))):
                ents[(s, e)] = label
                taken.update(range(s, e))
                counts["unlabelled_filled_with_entity"] += 1
                changed += 1
        counts["masked_tokens_kept_masked" if keep_masked else "masked_tokens_set_non_entity"] += len(masked - taken)
        counts["masked_regions"] += len(regions)
        if not changed and (keep_masked or not regions):
            out.append(new)
            continue
        spans = [Span(new, s, e, label=label) for (s, e), label in sorted(ents.items())]
        missing = [new[t: t + 1] for t in sorted(masked - taken)] if keep_masked else []
        new.set_ents(spans, missing=missing, default="outside")
        new.spans[spans_key] = spans
        if ignore_key in new.spans:
            new.spans[ignore_key] = [new[g.start: g.end] for g in doc.spans[ignore_key]
                                     if keep_masked and not taken.issuperset(range(g.start, g.end))]
        new.user_data[CHANGES_KEY] = int(new.user_data.get(CHANGES_KEY, 0)) + changed + \
            (0 if keep_masked else len(regions))
        out.append(new)
    return out, dict(counts)


def run_fill(model: PathLike, corpus: PathLike, output: PathLike, *, report_path: Optional[PathLike] = None,
             unlabelled_min_score: Optional[float] = None, keep_masked: bool = False,
             nlp: Optional[Language] = None) -> Dict[str, Any]:
    """Label the masked regions of the cleaned `corpus` with the pipeline at
    `model` (trained on it); write the filled DocBin and a JSON report."""
    if unlabelled_min_score is not None and not 0.0 <= unlabelled_min_score <= 1.0:
        raise DynCleanError(f"unlabelled_min_score must be in 0..1, not {unlabelled_min_score}")
    output = Path(output)
    report = Path(report_path) if report_path else output.with_suffix(".report.json")
    with Outputs([output, report], [model, corpus]) as outputs:
        if nlp is None:
            nlp = load_pipeline(model)
        docs = read_docbin(corpus)
        if not docs:
            raise DynCleanError(f"{corpus}: empty corpus")
        predictions = predict(nlp, docs)
        filled, counts = fill_docs(docs, predictions, unlabelled_min_score=unlabelled_min_score,
                                   keep_masked=keep_masked)
        data = {"model": str(model), "input": str(corpus), "output": str(output), "docs": len(filled),
                "unlabelled_min_score": unlabelled_min_score, "keep_masked": keep_masked, "changes": counts}
        write_docbin(filled, outputs.path(output))
        write_json(outputs.path(report), data)
    msg.good(f"Wrote {len(filled):,} docs to {output}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return data
