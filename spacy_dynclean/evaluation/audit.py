"""Audit a cleaning against gold labels of the same sentences.

Gold is only ever an input here, never to `clean`. A *real false positive*
is a distant entity whose (start, end, label) is not a gold entity; a *real
false negative* is a non-entity span (no distant entity there) that is a gold
entity. A distant entity counts as *flagged* when the cleaned corpus no
longer has it with the same label; a non-entity span when the cleaned corpus
ignores it or made it an entity.
"""
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from spacy.tokens import Doc
from wasabi import msg

from spacy_dynclean.recording.samples import changed_non_entities, doc_id, gold_spans
from spacy_dynclean.util import CHANGES_KEY, DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike, write_json

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


CHANGE_KINDS = ("retyped", "rebounded", "added")


def change_kind(ent: Ent, distant: Set[Ent]) -> str:
    """A cleaned entity the distant labels lack: the same span re-typed, a
    span overlapping a distant entity (re-bounded), or a new one (added)."""
    s, e, _ = ent
    if any(ds == s and de == e for ds, de, _ in distant):
        return "retyped"
    if any(ds < e and s < de for ds, de, _ in distant):
        return "rebounded"
    return "added"


def _missing_tokens(doc: Doc) -> Set[int]:
    return {t.i for t in doc if t.ent_iob_ == ""}


def check_roles(distant: List[Doc], cleaned: List[Doc], gold: List[Doc], names: Tuple[str, str, str],
                spans_key: str, ignore_key: str) -> None:
    """Check, as far as the files tell, that they are what they claim: the
    same sentences; no cleaning marks in the distant or gold file; and the
    cleaned corpus made from the distant one (a doc `clean` did not change
    has the distant doc's entities). Errors name the file and doc id."""
    d_by, c_by, g_by = (_by_id(docs, name) for docs, name in zip((distant, cleaned, gold), names))
    if set(d_by) != set(g_by):
        other = sorted(set(d_by) ^ set(g_by))[0]
        raise DynCleanError(f"{names[2]}: holds other sentences than {names[0]} (first differing doc id {other})")
    unknown = sorted(set(c_by) - set(d_by))
    if unknown:
        raise DynCleanError(f"{names[1]}: doc id {unknown[0]} is not in {names[0]} ({len(unknown)} such docs)")
    for by, name, role in ((d_by, names[0], "distant"), (g_by, names[2], "gold")):
        for did, doc in by.items():
            if ignore_key in doc.spans or doc.user_data.get(CHANGES_KEY):
                raise DynCleanError(f"{name}: doc {did} was written by `clean`, so this is not the {role} corpus "
                                    "(are the arguments in the order DISTANT CLEANED GOLD?)")
    for did, c_doc in c_by.items():
        d_doc = d_by[did]
        if [t.text for t in c_doc] != [t.text for t in d_doc]:
            raise DynCleanError(f"{names[1]}: doc {did} has other tokens than in {names[0]}")
        if c_doc.user_data.get(CHANGES_KEY) or len(c_doc.spans.get(ignore_key, [])):
            continue
        if _ents(c_doc, spans_key) != _ents(d_doc, spans_key):
            raise DynCleanError(f"{names[1]}: doc {did} was not changed by `clean` but its entities differ from "
                                f"{names[0]}: was it cleaned from another file, or are distant and gold swapped?")


def run_audit(distant: PathLike, cleaned: PathLike, gold: PathLike, output: PathLike, *,
              max_span_length: int = 8, spans_key: str = DEFAULT_SPANS_KEY, skip_if_missing: bool = False
              ) -> Dict[str, Any]:
    """Audit the three DocBins and write the JSON to `output`."""
    from spacy_dynclean.convert import read_docbin
    from spacy_dynclean.outputs import Outputs

    if max_span_length < 1:
        raise DynCleanError(f"--max-span-length must be at least 1, not {max_span_length}")
    with Outputs([output], [distant, cleaned, gold]) as outputs:
        if skip_if_missing and not Path(gold).exists():
            result: Dict[str, Any] = {"skipped": f"no gold train file at {gold}"}
        else:
            docs = [read_docbin(p) for p in (distant, cleaned, gold)]
            for p, d in zip((distant, gold), (docs[0], docs[2])):
                if not d:
                    raise DynCleanError(f"{p}: empty corpus")
            names = (str(distant), str(cleaned), str(gold))
            check_roles(*docs, names=names, spans_key=spans_key, ignore_key=DEFAULT_IGNORE_KEY)
            result = audit(*docs, max_span_length=max_span_length, spans_key=spans_key)
        write_json(outputs.path(output), result)
    return result


def audit_doc(d_doc: Doc, g_doc: Doc, c_doc: Optional[Doc], tally: Counter, changes: Dict[str, List[int]], *,
              max_span_length: int, spans_key: str, ignore_key: str) -> None:
    """Count one sentence's distant, cleaned (None: dropped) and gold labels into `tally` and `changes`."""
    d_ents = _ents(d_doc, spans_key)
    g_ents = {(e.start, e.end, e.label_) for e in g_doc.ents}
    g_spans = {(s, e) for s, e, _ in g_ents}
    d_spans = {(s, e) for s, e, _ in d_ents}
    if c_doc is not None:
        c_ents = _ents(c_doc, spans_key)
        c_spans = {(s, e) for s, e, _ in c_ents}
        c_ignored: Optional[Set[Tuple[int, int]]] = {(s.start, s.end) for s in c_doc.spans.get(ignore_key, [])}
        missing = _missing_tokens(c_doc)
    else:  # dropped doc
        c_ents, c_spans, c_ignored, missing = set(), set(), None, set(range(len(d_doc)))
    for ent in d_ents:  # positives: distant entities
        real, flagged = ent not in g_ents, ent not in c_ents
        tally.update(fp_real=real, fp_flag=flagged, fp_hit=real and flagged)
    for s, e in g_spans - d_spans:  # gold entities that the distant labels missed are the real FNs
        if e - s > max_span_length:
            tally["too_long"] += 1
            continue
        tally.update(fn_real=1, fn_hit=c_ignored is None or (s, e) in c_ignored or (s, e) in c_spans)
    # flagged negatives: ignored or new entity spans that were non-entity in the distant labels
    tally["fn_flag"] += changed_non_entities(d_doc, c_doc, max_span_length, spans_key, ignore_key)
    for ent in c_ents - d_ents:
        kind = change_kind(ent, d_ents)
        changes[kind][0] += 1
        changes[kind][1] += ent in g_ents
    kept_gold = {x for x in g_ents if not missing.intersection(range(x[0], x[1]))}
    tally.update(before_tp=len(d_ents & g_ents), before_pred=len(d_ents), before_gold=len(g_ents),
                 all_tp=len(c_ents & g_ents), all_pred=len(c_ents), after_tp=len(c_ents & kept_gold),
                 after_pred=len(c_ents), after_gold=len(kept_gold))


def audit(
    distant: List[Doc], cleaned: List[Doc], gold: List[Doc], *,
    max_span_length: int = 8, spans_key: str = DEFAULT_SPANS_KEY,
    ignore_key: str = DEFAULT_IGNORE_KEY,
) -> Dict[str, Any]:
    """Detection precision/recall and label F1 before and after cleaning.
    Docs are matched by sample id; a doc dropped by `clean` counts as all
    its samples flagged and all its tokens missing. `labels_f1_after` counts
    only the tokens that stay supervised; `labels_f1_all` counts every gold
    entity (masked or dropped ones are missed), the measure for correction."""
    d_by, c_by, g_by = _by_id(distant, "distant"), _by_id(cleaned, "cleaned"), _by_id(gold, "gold")
    if set(d_by) != set(g_by):
        raise DynCleanError("gold and distant corpora hold different sentences (doc ids differ)")
    unknown = set(c_by) - set(d_by)
    if unknown:
        raise DynCleanError(f"cleaned corpus has {len(unknown)} docs not in the distant corpus")
    t: Counter = Counter()
    changes: Dict[str, List[int]] = {kind: [0, 0] for kind in CHANGE_KINDS}  # kind: [count, gold]
    for did, d_doc in d_by.items():
        if [x.text for x in g_by[did]] != [x.text for x in d_doc]:
            raise DynCleanError(f"doc {did}: gold and distant tokens differ")  # check_roles names the files
        audit_doc(d_doc, g_by[did], c_by.get(did), t, changes, max_span_length=max_span_length,
                  spans_key=spans_key, ignore_key=ignore_key)
    before = prf(t["before_tp"], t["before_pred"], t["before_gold"])
    after = prf(t["after_tp"], t["after_pred"], t["after_gold"])
    every = prf(t["all_tp"], t["all_pred"], t["before_gold"])
    fp = prf(t["fp_hit"], t["fp_flag"], t["fp_real"])
    fn = prf(t["fn_hit"], t["fn_flag"], t["fn_real"])
    return {
        "fp_precision": fp["precision"], "fp_recall": fp["recall"], "fp_f1": fp["f1"],
        "fn_precision": fn["precision"], "fn_recall": fn["recall"], "fn_f1": fn["f1"],
        "labels_f1_before": before["f1"], "labels_f1_after": after["f1"],
        "labels_f1_all": every["f1"], "labels_before": before, "labels_after": after, "labels_all": every,
        "changes": {kind: {"count": n, "gold": g, "precision": g / n if n else 0.0}
                    for kind, (n, g) in changes.items()},
        "flagged_positives": t["fp_flag"], "real_false_positives": t["fp_real"],
        "flagged_real_false_positives": t["fp_hit"], "flagged_negatives": t["fn_flag"],
        "real_false_negatives": t["fn_real"], "flagged_real_false_negatives": t["fn_hit"],
        "gold_spans_too_long": t["too_long"], "docs": len(d_by), "docs_dropped": len(d_by) - len(c_by),
        "gold_entities_excluded_as_missing": t["before_gold"] - t["after_gold"],
        "notes": {"flagged_negatives": "non-entity spans masked or made entities in the cleaned corpus: the clean "
                                       "report's negatives_in_corpus; its flagged_negatives (the decision's flags) "
                                       "are fewer where the strategy re-bounds or adds an entity or masks a region"},
    }


def print_audit(result: Dict[str, Any], output: PathLike) -> None:
    """The audit as a table on the terminal."""
    if result.get("skipped"):
        msg.info(f"Audit skipped: {result['skipped']}")
        return
    msg.table(
        [
            ("false positives found", f"{result['fp_precision']:.3f}", f"{result['fp_recall']:.3f}",
             f"{result['flagged_positives']:,} flagged / {result['real_false_positives']:,} real"),
            ("missed entities found", f"{result['fn_precision']:.3f}", f"{result['fn_recall']:.3f}",
             f"{result['flagged_negatives']:,} flagged / {result['real_false_negatives']:,} real"),
        ],
        header=("detection", "precision", "recall", "counts"),
    )
    msg.info(f"label F1 vs gold: distant {result['labels_f1_before']:.3f} -> cleaned {result['labels_f1_after']:.3f} "
             f"(supervised tokens), {result['labels_f1_all']:.3f} (all tokens, masked = missing)")
    msg.good(f"Wrote {output}")
