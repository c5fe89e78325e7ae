"""Audit a cleaning against gold labels of the same sentences.

Gold is only ever an input here, never to `clean`. A *real false positive*
is a distant entity whose (start, end, label) is not a gold entity; a *real
false negative* is a non-entity span (no distant entity there) that is a gold
entity. A distant entity counts as *flagged* when the cleaned corpus no
longer has it with the same label; a non-entity span when the cleaned corpus
ignores it or made it an entity.
"""
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from spacy_dynclean.docbin_reader import iter_docbin, iter_user_data
from spacy_dynclean.outputs import Outputs
from spacy_dynclean.recording.samples import changed_non_entities, doc_id, gold_spans
from spacy_dynclean.util import (CHANGES_KEY, DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DOC_ID_KEY, DynCleanError, PathLike,
                                 write_json)

Ent = Tuple[int, int, str]


def prf(tp: int, n_pred: int, n_gold: int) -> Dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


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


def check_ids(ids: Tuple[List[str], List[str], List[str]], names: Tuple[str, str, str]) -> None:
    """The three files' doc ids: each id once per file, the distant and gold
    files the same sentences, the cleaned file a subset of them."""
    for found, name in zip(ids, names):
        if "" in found:
            raise DynCleanError(f"{name}: doc {found.index('')} has no sample id (doc.user_data[{DOC_ID_KEY!r}]): "
                                "convert the corpus with `python -m spacy_dynclean convert`")
        seen: Set[str] = set()
        for did in found:
            if did in seen:
                raise DynCleanError(f"{name}: doc id {did} occurs twice")
            seen.add(did)
    d_ids, c_ids, g_ids = (set(x) for x in ids)
    if d_ids != g_ids:
        other = sorted(d_ids ^ g_ids)[0]
        raise DynCleanError(f"{names[2]}: holds other sentences than {names[0]} (first differing doc id {other})")
    unknown = sorted(c_ids - d_ids)
    if unknown:
        raise DynCleanError(f"{names[1]}: doc id {unknown[0]} is not in {names[0]} ({len(unknown)} such docs)")


def check_docs(did: str, d_doc: Doc, c_doc: Optional[Doc], g_doc: Doc, names: Tuple[str, str, str],
               spans_key: str, ignore_key: str) -> None:
    """Check, as far as one sentence tells, that the files are what they
    claim: no cleaning marks in the distant or gold file, the same tokens,
    and the cleaned doc made from the distant one (a doc `clean` did not
    change has the distant doc's entities). Errors name the file and doc id."""
    for doc, name, role in ((d_doc, names[0], "distant"), (g_doc, names[2], "gold")):
        if ignore_key in doc.spans or doc.user_data.get(CHANGES_KEY):
            raise DynCleanError(f"{name}: doc {did} was written by `clean`, so this is not the {role} corpus "
                                "(are the arguments in the order DISTANT CLEANED GOLD?)")
    words = [t.text for t in d_doc]
    if [t.text for t in g_doc] != words:
        raise DynCleanError(f"{names[2]}: doc {did} has other tokens than in {names[0]}")
    if c_doc is None:
        return
    if [t.text for t in c_doc] != words:
        raise DynCleanError(f"{names[1]}: doc {did} has other tokens than in {names[0]}")
    if not (c_doc.user_data.get(CHANGES_KEY) or len(c_doc.spans.get(ignore_key, []))) and \
            _ents(c_doc, spans_key) != _ents(d_doc, spans_key):
        raise DynCleanError(f"{names[1]}: doc {did} was not changed by `clean` but its entities differ from "
                            f"{names[0]}: was it cleaned from another file, or are distant and gold swapped?")


def in_step(distant: Iterable[Doc], cleaned: Iterable[Doc], gold: Iterable[Doc], cleaned_ids: Set[str],
            names: Tuple[str, str, str]) -> Iterator[Tuple[str, Doc, Optional[Doc], Doc]]:
    """Each distant doc with the cleaned doc (None: dropped) and the gold doc
    of its id, the three read in step; a doc read before its turn waits in a
    buffer, which stays empty where the files keep one order (as `clean`
    writes them)."""
    waiting: Tuple[Dict[str, Doc], Dict[str, Doc]] = ({}, {})
    readers = (iter(cleaned), iter(gold))

    def take(which: int, did: str) -> Doc:
        while did not in waiting[which]:
            doc = next(readers[which], None)
            if doc is None:
                raise DynCleanError(f"{names[which + 1]}: no doc {did}")
            waiting[which][doc_id(doc, names[which + 1])] = doc
        return waiting[which].pop(did)

    for i, d_doc in enumerate(distant):
        did = doc_id(d_doc, f"{names[0]}: doc {i}")
        yield did, d_doc, take(0, did) if did in cleaned_ids else None, take(1, did)


def checked_ids(paths: Tuple[PathLike, PathLike, PathLike], names: Tuple[str, str, str]) -> Set[str]:
    """Read and check the three files' doc ids (`check_ids`; the user data
    alone, no doc built); the cleaned file's ids."""
    ids = tuple([str(u.get(DOC_ID_KEY) or "") for u in iter_user_data(p)] for p in paths)
    for path, found in ((paths[0], ids[0]), (paths[2], ids[2])):
        if not found:
            raise DynCleanError(f"{path}: empty corpus")
    check_ids(ids, names)  # type: ignore[arg-type]
    return set(ids[1])


PROGRESS_EVERY = 100_000  # docs between two progress lines


def progress(docs: Iterable[Any], every: int = PROGRESS_EVERY) -> Iterator[Any]:
    """`docs` as they are, with a line every `every` of them (a large corpus takes minutes)."""
    start = time.time()
    for i, item in enumerate(docs, 1):
        yield item
        if i % every == 0:
            msg.text(f"audit: {i:,} docs ({time.time() - start:.0f}s)")


def run_audit(distant: PathLike, cleaned: PathLike, gold: PathLike, output: PathLike, *,
              max_span_length: int = 8, spans_key: str = DEFAULT_SPANS_KEY, skip_if_missing: bool = False
              ) -> Dict[str, Any]:
    """Audit the three DocBins, read one doc at a time, and write the JSON to `output`."""
    if max_span_length < 1:
        raise DynCleanError(f"--max-span-length must be at least 1, not {max_span_length}")
    with Outputs([output], [distant, cleaned, gold]) as outputs:
        if skip_if_missing and not Path(gold).exists():
            result: Dict[str, Any] = {"skipped": f"no gold train file at {gold}"}
        else:
            paths = (distant, cleaned, gold)
            names = (str(distant), str(cleaned), str(gold))
            vocab = Vocab()
            cleaned_ids = checked_ids(paths, names)
            docs = in_step(*(iter_docbin(p, vocab) for p in paths), cleaned_ids, names)
            result = tally(progress(docs), max_span_length=max_span_length, spans_key=spans_key,
                           ignore_key=DEFAULT_IGNORE_KEY, names=names)
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
    """Detection precision/recall and label F1 before and after cleaning, of
    docs in memory (`run_audit` reads the files one doc at a time); see `tally`."""
    names = ("distant", "cleaned", "gold")
    ids = tuple([doc_id(doc, f"{name}: doc {i}") for i, doc in enumerate(docs)]
                for docs, name in zip((distant, cleaned, gold), names))
    check_ids(ids, names)  # type: ignore[arg-type]
    return tally(in_step(distant, cleaned, gold, set(ids[1]), names), max_span_length=max_span_length,
                 spans_key=spans_key, ignore_key=ignore_key)


def tally(
    docs: Iterable[Tuple[str, Doc, Optional[Doc], Doc]], *, max_span_length: int, spans_key: str, ignore_key: str,
    names: Optional[Tuple[str, str, str]] = None,
) -> Dict[str, Any]:
    """Detection precision/recall and label F1 before and after cleaning over
    (id, distant, cleaned, gold) docs; `names`: check each doc's role too.
    A doc dropped by `clean` counts as all its samples flagged and all its
    tokens missing. `labels_f1_after` counts only the tokens that stay
    supervised; `labels_f1_all` counts every gold entity (masked or dropped
    ones are missed), the measure for correction."""
    t: Counter = Counter()
    changes: Dict[str, List[int]] = {kind: [0, 0] for kind in CHANGE_KINDS}  # kind: [count, gold]
    n_docs = n_dropped = 0
    for did, d_doc, c_doc, g_doc in docs:
        if names is not None:
            check_docs(did, d_doc, c_doc, g_doc, names, spans_key, ignore_key)
        elif [x.text for x in g_doc] != [x.text for x in d_doc]:
            raise DynCleanError(f"doc {did}: gold and distant tokens differ")
        n_docs += 1
        n_dropped += c_doc is None
        audit_doc(d_doc, g_doc, c_doc, t, changes, max_span_length=max_span_length,
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
        "gold_spans_too_long": t["too_long"], "docs": n_docs, "docs_dropped": n_dropped,
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
