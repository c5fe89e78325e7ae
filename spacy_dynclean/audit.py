"""Audit a cleaning against gold labels of the same sentences.

Gold is only ever an input here, never to `clean`. A *real false positive*
is a distant entity whose (start, end, label) is not a gold entity; a *real
false negative* is a non-entity span (no distant entity there) that is a gold
entity. A distant entity counts as *flagged* when the cleaned corpus no
longer has it with the same label; a non-entity span when the cleaned corpus
ignores it or made it an entity.
"""
from typing import Dict, List, Set, Tuple

from spacy.tokens import Doc

from .samples import doc_id, gold_spans, n_candidates
from .util import DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError

Ent = Tuple[int, int, str]


def prf(tp: int, n_pred: int, n_gold: int) -> Dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def _by_id(docs: List[Doc], name: str) -> Dict[str, Doc]:
    out: Dict[str, Doc] = {}
    for i, doc in enumerate(docs):
        out[doc_id(doc, f"{name}: doc {i}")] = doc
    return out


def _ents(doc: Doc, spans_key: str) -> Set[Ent]:
    return {(s.start, s.end, s.label_) for s in gold_spans(doc, spans_key)}


def _missing_tokens(doc: Doc) -> Set[int]:
    return {t.i for t in doc if t.ent_iob_ == ""}


def audit(
    distant: List[Doc], cleaned: List[Doc], gold: List[Doc], *,
    max_span_length: int = 8, spans_key: str = DEFAULT_SPANS_KEY,
    ignore_key: str = DEFAULT_IGNORE_KEY,
) -> Dict[str, object]:
    """Detection precision/recall and label F1 before and after cleaning.
    Docs are matched by sample id; a doc dropped by `clean` counts as all
    its samples flagged and all its tokens missing."""
    d_by, c_by, g_by = _by_id(distant, "distant"), _by_id(cleaned, "cleaned"), _by_id(gold, "gold")
    if set(d_by) != set(g_by):
        raise DynCleanError("gold and distant corpora hold different sentences (doc ids differ)")
    unknown = set(c_by) - set(d_by)
    if unknown:
        raise DynCleanError(f"cleaned corpus has {len(unknown)} docs not in the distant corpus")
    fp_real = fp_flag = fp_hit = 0
    fn_real = fn_flag = fn_hit = 0
    too_long = 0
    before_tp = before_pred = before_gold = 0
    after_tp = after_pred = after_gold = 0
    for did, d_doc in d_by.items():
        g_doc = g_by[did]
        if [t.text for t in g_doc] != [t.text for t in d_doc]:
            raise DynCleanError(f"doc {did}: gold and distant tokens differ")
        d_ents = _ents(d_doc, spans_key)
        g_ents = {(e.start, e.end, e.label_) for e in g_doc.ents}
        g_spans = {(s, e) for s, e, _ in g_ents}
        d_spans = {(s, e) for s, e, _ in d_ents}
        c_doc = c_by.get(did)
        if c_doc is not None:
            c_ents = _ents(c_doc, spans_key)
            c_spans = {(s, e) for s, e, _ in c_ents}
            c_ignored = {(s.start, s.end) for s in c_doc.spans.get(ignore_key, [])}
            missing = _missing_tokens(c_doc)
        else:  # dropped doc
            c_ents, c_spans, c_ignored, missing = set(), set(), None, set(range(len(d_doc)))
        # positives: distant entities
        for ent in d_ents:
            real = ent not in g_ents
            flagged = ent not in c_ents
            fp_real += real
            fp_flag += flagged
            fp_hit += real and flagged
        # negatives: gold entities that the distant labels missed are the real FNs
        for s, e in g_spans - d_spans:
            if e - s > max_span_length:
                too_long += 1
                continue
            fn_real += 1
            flagged = c_ignored is None or (s, e) in c_ignored or (s, e) in c_spans
            fn_hit += flagged
        # flagged negatives: ignored or new entity spans that were non-entity in the distant labels
        if c_ignored is None:  # a dropped doc: every non-entity candidate is gone
            n_flag = n_candidates(len(d_doc), max_span_length) - len(d_spans)
        else:
            n_flag = len((c_ignored | c_spans) - d_spans)
        fn_flag += n_flag
        before_tp += len(d_ents & g_ents)
        before_pred += len(d_ents)
        before_gold += len(g_ents)
        kept_gold = {x for x in g_ents if not missing.intersection(range(x[0], x[1]))}
        after_tp += len(c_ents & kept_gold)
        after_pred += len(c_ents)
        after_gold += len(kept_gold)
    before = prf(before_tp, before_pred, before_gold)
    after = prf(after_tp, after_pred, after_gold)
    fp = prf(fp_hit, fp_flag, fp_real)
    fn = prf(fn_hit, fn_flag, fn_real)
    return {
        "fp_precision": fp["precision"], "fp_recall": fp["recall"], "fp_f1": fp["f1"],
        "fn_precision": fn["precision"], "fn_recall": fn["recall"], "fn_f1": fn["f1"],
        "labels_f1_before": before["f1"], "labels_f1_after": after["f1"],
        "labels_before": before, "labels_after": after,
        "flagged_positives": fp_flag, "real_false_positives": fp_real, "flagged_real_false_positives": fp_hit,
        "flagged_negatives": fn_flag, "real_false_negatives": fn_real, "flagged_real_false_negatives": fn_hit,
        "gold_spans_too_long": too_long,
        "docs": len(d_by), "docs_dropped": len(d_by) - len(c_by),
        "gold_entities_excluded_as_missing": before_gold - after_gold,
    }
