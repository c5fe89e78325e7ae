"""Probe: what the gold-free preset leaves of the wrong distant entities, and how well the
recorded dynamics rank them (benchmark only: gold train labels are read to score).

For a seed's recording run (bench_quality.py): the preset's cleaned corpus (the `goldfree7`
variant, cleaned here if the run has none), the wrong distant entities it keeps, by kind (right
span with another type; other bounds than an overlapping gold entity; no gold entity there) and
by how often the corpus labels that text with that label (1, 2-4, 5+: what per-form evidence has
to go on); then the precision of the lowest own-label probabilities of the distant entities over
the first k epochs (k auto and all) at fixed budgets, over all distant entities and over those
the preset keeps. No training.
    python bench/probe_positives.py --dataset wiki-lc --tag=-r5
"""
import argparse
from collections import Counter
from typing import Dict, List

import numpy
from spacy.tokens import Doc
from bench_quality import CLEANED, clean_corpus
from common import WORK, corpus, sample_keys, save, wrong_labels

from spacy_dynclean.convert import DOC_ID_KEY, read_docbin
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.evidence.scores import auto_k
from spacy_dynclean.recording.samples import gold_spans

BUDGETS = (300, 1000, 2000, 3000)


def leftovers(dataset: str, cleaned_docs: List[Doc]) -> Dict[str, object]:
    """The wrong distant entities the cleaned corpus keeps (same span, same label), by kind and by
    the number of distant occurrences of their (text, label)."""
    docs = read_docbin(corpus(dataset, "train-ds"))
    gold = {d.user_data[DOC_ID_KEY]: d for d in read_docbin(corpus(dataset, "train-gs"))}
    cleaned = {d.user_data[DOC_ID_KEY]: d for d in cleaned_docs}
    occurrences = Counter((s.text.lower(), s.label_) for d in docs for s in gold_spans(d, "sc"))
    entities, wrong, kinds, forms = 0, 0, Counter(), Counter()
    for doc in docs:
        doc_id = doc.user_data[DOC_ID_KEY]
        truth = {(s.start, s.end): s.label_ for s in gold_spans(gold[doc_id], "sc")}
        kept = {(s.start, s.end, s.label_) for s in gold_spans(cleaned[doc_id], "sc")} if doc_id in cleaned else set()
        for s in gold_spans(doc, "sc"):
            entities += 1
            if truth.get((s.start, s.end)) == s.label_:
                continue
            wrong += 1
            if (s.start, s.end, s.label_) not in kept:
                continue
            kind = "type" if (s.start, s.end) in truth else \
                "bounds" if any(a < s.end and s.start < b for a, b in truth) else "spurious"
            kinds[kind] += 1
            n = occurrences[(s.text.lower(), s.label_)]
            forms["1" if n == 1 else "2-4" if n < 5 else "5+"] += 1
    return {"entities": entities, "wrong": wrong, "kept": sum(kinds.values()), "kinds": dict(kinds), "form_occurrences": dict(forms)}


def kept_rows(evidence: Evidence, cleaned_docs: List[Doc]) -> numpy.ndarray:
    """Per sample: is it a distant entity the cleaned corpus keeps (same span, same label)?"""
    kept = {(d.user_data[DOC_ID_KEY], s.start, s.end, s.label_) for d in cleaned_docs for s in gold_spans(d, "sc")}
    return numpy.array([key in kept for key in sample_keys(evidence.samples)])


def precision_at(score: numpy.ndarray, wrong: numpy.ndarray) -> Dict[str, float]:
    """Share of wrong among the `BUDGETS` lowest scores (within the rows given)."""
    order = numpy.argsort(score, kind="stable")
    return {str(n): round(float(wrong[order[:n]].mean()), 3) for n in BUDGETS if n <= len(score)}


def cells(at: Dict[str, float]) -> str:
    return ", ".join(f"{n}: {v:.2f}" for n, v in at.items())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="wiki-lc")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="-r5")
    a = p.parse_args()
    base = WORK / "quality" / a.dataset / f"cnn{a.tag}" / f"seed{a.seed}"
    cleaned = base / "train-goldfree7.spacy"
    if not cleaned.exists():
        with_evidence, config, overrides = CLEANED["goldfree7"]
        clean_corpus(a.dataset, base, cleaned, config, with_evidence, overrides, quiet=True)
    cleaned_docs = read_docbin(cleaned)
    left = leftovers(a.dataset, cleaned_docs)
    ev = Evidence.load({"corpus": str(corpus(a.dataset, "train-ds")), "dynamics": str(base / "dyn-noisy")})
    dyn = ev.samples
    wrong = wrong_labels(dyn, a.dataset)
    pos = dyn.candidates & dyn.positive
    kept = pos & kept_rows(ev, cleaned_docs)
    k = auto_k(dyn)
    ranking: Dict[str, Dict[str, object]] = {}
    for kk in sorted({k, dyn.n_epochs}):
        own = dyn.epochs_of("probs", kk).astype("float32").mean(axis=1)
        ranking[str(kk)] = {"all": precision_at(own[pos], wrong[pos]), "kept": precision_at(own[kept], wrong[kept])}
    row = {"dataset": a.dataset, "seed": a.seed, "tag": a.tag, "k_auto": k,
           "positives": int(pos.sum()), "base_rate": round(float(wrong[pos].mean()), 3),
           "kept_base_rate": round(float(wrong[kept].mean()), 3), **left, "precision_at": ranking}
    lines: List[str] = [
        f"{a.dataset} seed {a.seed}: {left['wrong']} wrong of {left['entities']} distant entities "
        f"({row['positives']} of them recorded, base rate {row['base_rate']}); the preset keeps {left['kept']}: {left['kinds']}, "
        f"by the form's distant occurrences {left['form_occurrences']} (base rate among them {row['kept_base_rate']})"]
    for kk, r in ranking.items():
        lines.append(f"  k = {kk}{' (auto)' if int(kk) == k else ''}: lowest own-label probability, precision at "
                     f"{cells(r['all'])} (all); {cells(r['kept'])} (kept)")
    print("\n".join(lines))
    save(f"probe-positives-{a.dataset}-cnn{a.tag}", row)


if __name__ == "__main__":
    main()
