"""Does cleaning find the real errors? Precision / recall / F1 of the flagged
positives as real false positives and of the flagged negatives as real missed
entities (against gold train labels), for AUM with the default automatic
thresholds and for baselines flagging the *same number* of samples per kind:
random, lowest confidence (data maps), highest loss, and cleanlab's token
label-quality scores on token probabilities from the same model. Also the
held-out evidence (the noisy pipeline on the gold dev set, per surface form)
alone and added to AUM (the project's default), the `relabel` strategy
against `remove`, and the other threshold methods.

Needs the runs of bench_quality.py (seed 0) for the dataset and backbone:

    python bench/bench_detection.py --dataset wiki --backbone cnn
"""
import argparse
import json
from typing import Dict, List, Tuple

import numpy

from bench_quality import heldout_evidence, train_threshold
from common import WORK, corpus, save, wrong_labels

from spacy_dynclean.audit import audit
from spacy_dynclean.clean import CleanSettings, add_heldout_flags, estimate_thresholds, run_clean
from spacy_dynclean.convert import read_docbin
from spacy_dynclean.dynamics import Dynamics
from spacy_dynclean.filter import Flags, flag_samples
from spacy_dynclean.heldout import FormEvidence
from spacy_dynclean.samples import overlaps_positive
from spacy_dynclean.scores import compute_scores, resolve_k


def prf(flagged: numpy.ndarray, wrong: numpy.ndarray) -> Dict[str, float]:
    tp = int((flagged & wrong).sum())
    p = tp / flagged.sum() if flagged.sum() else 0.0
    r = tp / wrong.sum() if wrong.sum() else 0.0
    return {"flagged": int(flagged.sum()), "precision": round(p, 3), "recall": round(r, 3),
            "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0}


def lowest(score: numpy.ndarray, pool: numpy.ndarray, n: int) -> numpy.ndarray:
    rows = numpy.nonzero(pool)[0]
    out = numpy.zeros(len(pool), dtype=bool)
    if n:
        out[rows[numpy.argsort(score[rows], kind="stable")[:n]]] = True
    return out


def cleanlab_scores(dyn: Dynamics, model_dir, dataset: str) -> Tuple[numpy.ndarray, str]:
    """Per sample: the lowest cleanlab token label-quality score over its
    tokens, from token probabilities of the trained noisy model (a token's
    probability of type L is the largest probability of L over the candidate
    spans that contain it; of O, its one-token span's non-entity probability;
    renormalised)."""
    try:
        from cleanlab.token_classification.rank import get_label_quality_scores
    except ImportError:
        return numpy.full(len(dyn), numpy.nan), "cleanlab not installed (pip install cleanlab)"
    import spacy

    nlp = spacy.load(model_dir)
    ner = nlp.get_pipe("dynclean_ner")
    docs = read_docbin(corpus(dataset, "train-ds"), nlp.vocab)
    by_id = {d.user_data["dynclean_id"]: d for d in docs}
    n_labels = len(dyn.labels)
    labels_tok: List[numpy.ndarray] = []
    probs_tok: List[numpy.ndarray] = []
    rows_of_doc = []
    for i, did in enumerate(dyn.doc_ids):
        doc = by_id[did]
        rows = numpy.nonzero(dyn.doc == i)[0]
        rows_of_doc.append(rows)
        processed = list(nlp.pipe([spacy.tokens.Doc(nlp.vocab, words=[t.text for t in doc])],
                                  disable=["dynclean_ner"]))[0]
        indices, scores = ner.predict([processed])
        scores = ner.model.ops.to_numpy(scores)
        spans = ner.model.ops.to_numpy(indices.dataXd)
        p = numpy.zeros((len(doc), n_labels + 1), dtype="float32")
        for (s, e), row in zip(spans, scores):
            p[s:e, :n_labels] = numpy.maximum(p[s:e, :n_labels], row[:n_labels])
            if e - s == 1:
                p[s, n_labels] = row[n_labels]
        p = p / p.sum(axis=1, keepdims=True)
        lab = numpy.full(len(doc), n_labels, dtype=int)
        for span in doc.spans["sc"]:
            lab[span.start:span.end] = dyn.labels.index(span.label_)
        labels_tok.append(lab)
        probs_tok.append(p)
    _, token_scores = get_label_quality_scores([list(x) for x in labels_tok], probs_tok)
    out = numpy.zeros(len(dyn), dtype="float32")
    for rows, tok in zip(rows_of_doc, token_scores):
        tok = numpy.asarray(tok)
        cum_min = [tok[s:e].min() for s, e in zip(dyn.start[rows], dyn.end[rows])]
        out[rows] = cum_min
    return out, "ok"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="wiki")
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="", help="the --tag of the bench_quality.py run, e.g. --tag=-e30")
    args = p.parse_args()
    base = WORK / "quality" / args.dataset / (args.backbone.replace("/", "_") + args.tag) / f"seed{args.seed}"
    dyn = Dynamics.from_disk(base / "dyn-noisy")
    thr = Dynamics.from_disk(base / "dyn-threshold")
    wrong = wrong_labels(dyn, args.dataset)
    settings = CleanSettings()
    scores = compute_scores(dyn, settings.k)
    thresholds = estimate_thresholds(dyn, scores.aum, settings, thr)
    flags = flag_samples(dyn, scores.aum, thresholds)
    pos = dyn.positive & ~dyn.threshold
    neg = ~dyn.positive & ~dyn.threshold
    # baselines draw negatives from the same pool as AUM: no overlap with a distant entity
    neg_pool = neg & ~overlaps_positive(dyn.doc, dyn.start, dyn.end, dyn.positive)
    n_pos, n_neg = int(flags.positive.sum()), int(flags.negative.sum())
    rng = numpy.random.default_rng(0)
    loss = -numpy.log(numpy.clip(dyn.probs[:, : scores.k].astype("float32"), 1e-6, 1)).mean(axis=1)
    rankings = {
        "random": rng.random(len(dyn)),
        "lowest confidence": scores.confidence,
        "highest loss": -loss,
    }
    cl, cl_status = cleanlab_scores(dyn, base / "noisy" / "model-best", args.dataset)
    if cl_status == "ok":
        rankings["cleanlab token quality"] = cl
    table = {"AUM + automatic thresholds (dynamics only)": (flags.positive, flags.negative)}
    for name, score in rankings.items():
        table[name] = (lowest(score, pos, n_pos), lowest(score, neg_pool, n_neg))
    heldout = heldout_evidence(base, args.dataset)
    evidence = FormEvidence.from_disk(heldout)
    docs = read_docbin(corpus(args.dataset, "train-ds"))
    none = numpy.zeros(len(dyn), dtype=bool)
    alone = Flags(none.copy(), none.copy())
    add_heldout_flags(dyn, docs, evidence, alone, settings)
    table["held-out evidence alone (dev set, per form)"] = (alone.positive, alone.negative)
    for name, source in (("project default: held-out positives, AUM + held-out negatives", "auto"),
                         ("AUM + held-out evidence for both kinds", "both")):
        s = CleanSettings(positive_source=source)
        t = estimate_thresholds(dyn, scores.aum, s, thr, has_evidence=True)
        combined = flag_samples(dyn, scores.aum, t)
        add_heldout_flags(dyn, docs, evidence, combined, s)
        table[name] = (combined.positive, combined.negative)
    results = {name: {"positives": prf(fp, wrong & pos), "negatives": prf(fn, wrong & neg)}
               for name, (fp, fn) in table.items()}
    print(f"\n{args.dataset} / {args.backbone}: {n_pos} positives and {n_neg} negatives flagged by AUM")
    print(f"real errors: {int((wrong & pos).sum())} false positives, {int((wrong & neg).sum())} missed entities")
    print("| method | FP precision | FP recall | FP F1 | FN precision | FN recall | FN F1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        a, b = r["positives"], r["negatives"]
        print(f"| {name} | {a['precision']:.3f} | {a['recall']:.3f} | {a['f1']:.3f} | "
              f"{b['precision']:.3f} | {b['recall']:.3f} | {b['f1']:.3f} |")
    # strategies and other threshold methods, audited on the written corpora
    distant = read_docbin(corpus(args.dataset, "train-ds"))
    gold = read_docbin(corpus(args.dataset, "train-gs"))
    k = resolve_k(dyn, settings.k)
    for mode in ("fake", "random"):  # as long as the averaged epochs need
        train_threshold(args.backbone, base, args.dataset, args.seed, k, name=f"threshold-{mode}-k{k}",
                        extra=["--components.dynclean_ner.threshold_label", mode,
                               "--components.dynclean_ner.threshold_negative_pool", "all"])
    variants = {
        "swap threshold samples, remove (dynamics only)": ("dyn-threshold", CleanSettings()),
        "swap threshold samples, relabel": ("dyn-threshold", CleanSettings(strategy="relabel")),
        "swap + held-out evidence, remove (project default)": ("dyn-threshold", CleanSettings()),
        "swap + held-out evidence, relabel": ("dyn-threshold", CleanSettings(strategy="relabel")),
        "swap + held-out evidence, positives from both": ("dyn-threshold", CleanSettings(positive_source="both")),
        "fake class (DynClean: neg p90, pos p100)": (f"dyn-threshold-fake-k{k}", CleanSettings(negative_percentile=90)),
        "random existing label (p75 / p100)": (f"dyn-threshold-random-k{k}", CleanSettings()),
        "mixture (no threshold run)": ("dyn-threshold", CleanSettings(method="mixture")),
    }
    audits = {}
    for i, (name, (thr_name, s)) in enumerate(variants.items()):
        out = base / f"detect-{i}.spacy"
        run_clean(corpus(args.dataset, "train-ds"), base / "dyn-noisy", out,
                  threshold_dir=base / thr_name, settings=s, heldout_path=heldout if "held-out" in name else None)
        a = audit(distant, read_docbin(out), gold)
        audits[name] = {k: round(a[k], 3) if isinstance(a[k], float) else a[k] for k in (
            "flagged_positives", "fp_precision", "fp_recall", "flagged_negatives", "fn_precision", "fn_recall",
            "labels_f1_before", "labels_f1_after")}
        print(name, json.dumps(audits[name]))
    save(f"detection-{args.dataset}-{args.backbone.replace('/', '_')}{args.tag}", {
        "dataset": args.dataset, "backbone": args.backbone, "tag": args.tag, "seed": args.seed,
        "thresholds": thresholds.to_dict(), "detection": results, "cleanlab": cl_status, "audits": audits,
    })


if __name__ == "__main__":
    main()
