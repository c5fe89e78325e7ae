"""Does each detector find the real errors? Precision / recall of the flagged
positives as real wrong distant entities and of the flagged negatives as real
missed entities (against the gold train labels of the same sentences), for
every detector of the cleaning configs and their combinations, against AUM
alone, the dev evidence, cleanlab's token label-quality scores from
out-of-fold probabilities, and random. Ranking methods flag the same number
of samples per kind as the gold-free default (equal budget); rule-based
detectors flag what they flag.

Needs the runs of bench_quality.py (seed 0 by default) and, for the
out-of-fold rows, a `folds` run in the seed's folder (--folds trains one:
K models on the distant labels, each without a group of entity forms):

    python bench/bench_detection.py --dataset conll03 --backbone cnn --epochs 3 --folds
"""
import argparse
import json
import time
from typing import Dict, Tuple

import numpy
from bench_quality import heldout_evidence
from common import WORK, corpus, save, wrong_labels

from spacy_dynclean.cleaning.detectors.aum import aum_detector
from spacy_dynclean.cleaning.detectors.heldout_forms import heldout_forms_v2
from spacy_dynclean.cleaning.detectors.name_structure import name_structure_v3
from spacy_dynclean.cleaning.detectors.out_of_fold import out_of_fold
from spacy_dynclean.cleaning.detectors.per_form import per_form
from spacy_dynclean.legacy import heldout_forms, name_structure, name_structure_v2
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.cleaning.detectors.learned import learned_negatives
from spacy_dynclean.recording.samples import overlaps_positive
from spacy_dynclean.evidence.scores import compute_scores


# the row of the gold-free preset's detector: it sets the rankings' budget and joins the combinations and the vote
DEFAULT = "name structure v3, per form (gold-free default)"
# the row of the combined preset's dev evidence (heldout_forms.v2); it joins the combination and the vote
DEV = "dev evidence v2 (heldout_forms.v2: entity in >= 0.5 of dev occurrences)"
# the row of the presets' training-dynamics detector (learned_negatives.v1 as configured there); on text whose
# names carry no case the structure flags nothing, so the rankings are also compared at this detector's budget
LEARNED = "training dynamics (learned_negatives.v1, presets)"


def prf(flagged: numpy.ndarray, wrong: numpy.ndarray) -> Dict[str, float]:
    tp = int((flagged & wrong).sum())
    p = tp / flagged.sum() if flagged.sum() else 0.0
    r = tp / wrong.sum() if wrong.sum() else 0.0
    return {"flagged": int(flagged.sum()), "precision": round(p, 3), "recall": round(r, 3),
            "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0}


def top(score: numpy.ndarray, pool: numpy.ndarray, n: int) -> numpy.ndarray:
    """The n samples of `pool` with the highest suspicion `score`."""
    rows = numpy.nonzero(pool)[0]
    out = numpy.zeros(len(pool), dtype=bool)
    if n:
        out[rows[numpy.argsort(-numpy.nan_to_num(score[rows], nan=-numpy.inf), kind="stable")[:n]]] = True
    return out


def cleanlab_scores(ev: Evidence) -> Tuple[numpy.ndarray, str]:
    """Per sample: the lowest cleanlab token label-quality score over its
    tokens, from the out-of-fold span probabilities (a token's probability of
    type L is the largest probability of L over the spans that contain it; of
    non-entity, its one-token span's; renormalised)."""
    try:
        from cleanlab.token_classification.rank import get_label_quality_scores
    except ImportError:
        return numpy.full(len(ev.samples), numpy.nan), "cleanlab not installed (pip install cleanlab)"
    sm, folds = ev.samples, ev.folds
    n_labels = len(sm.labels)
    probs = folds.probs.astype("float32")
    bases = numpy.searchsorted(sm.doc, numpy.arange(len(sm.doc_ids)))
    ends = numpy.append(bases[1:], len(sm))
    docs = ev.docs_by_position()
    labels_tok, probs_tok = [], []
    for p, doc in enumerate(docs):
        rows = numpy.arange(bases[p], ends[p])
        tok = numpy.zeros((len(doc), n_labels + 1), dtype="float32")
        for r in rows:
            s, e = int(sm.start[r]), int(sm.end[r])
            tok[s:e, :n_labels] = numpy.maximum(tok[s:e, :n_labels], probs[r, :n_labels])
            if e - s == 1:
                tok[s, n_labels] = probs[r, n_labels]
        tok = tok / numpy.maximum(tok.sum(axis=1, keepdims=True), 1e-12)
        lab = numpy.full(len(doc), n_labels, dtype=int)
        for span in doc.spans["sc"]:
            lab[span.start:span.end] = sm.labels.index(span.label_)
        labels_tok.append(list(lab))
        probs_tok.append(tok)
    _, token_scores = get_label_quality_scores(labels_tok, probs_tok)
    out = numpy.zeros(len(sm), dtype="float32")
    for p, scores in enumerate(token_scores):
        scores = numpy.asarray(scores)
        rows = numpy.arange(bases[p], ends[p])
        out[rows] = [scores[int(sm.start[r]): int(sm.end[r])].min() for r in rows]
    return out, "ok"


def folds_dir(base, backbone: str, recording_backbone: str):
    """Where the out-of-fold predictions of `backbone` live for a seed's runs."""
    return base / ("folds" if backbone == recording_backbone else f"folds-{backbone.replace('/', '_')}")


def train_folds(out, dataset: str, backbone: str, epochs: int, seed: int) -> float:
    """Out-of-fold predictions in `out`, trained once (4 entity-disjoint folds)."""
    import subprocess
    import sys

    from common import ROOT

    seconds_file = out.parent / f"{out.name}.seconds"
    if (out / "folds.npz").exists():
        return float(json.loads(seconds_file.read_text())["seconds"]) if seconds_file.exists() else 0.0
    start = time.time()
    cmd = [sys.executable, "-m", "spacy_dynclean", "folds", backbone, str(corpus(dataset, "train-ds")),
           str(corpus(dataset, "dev")), str(out), "--seed", str(seed), "--training.max_epochs", str(epochs)]
    with open(out.parent / f"{out.name}.log", "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, check=True)
    seconds = round(time.time() - start, 1)
    seconds_file.write_text(json.dumps({"seconds": seconds}))
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="wiki")
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10, help="epochs of each fold model (as the recording run's)")
    p.add_argument("--tag", default="", help="the --tag of the bench_quality.py run, e.g. --tag=-e30")
    p.add_argument("--folds", action="store_true", help="train the out-of-fold models when missing")
    p.add_argument("--folds-backbone", default="", help="backbone of the out-of-fold models (default: --backbone)")
    p.add_argument("--folds-epochs", type=int, default=0, help="epochs of each fold model (default: --epochs)")
    args = p.parse_args()
    base = WORK / "quality" / args.dataset / (args.backbone.replace("/", "_") + args.tag) / f"seed{args.seed}"
    heldout_evidence(base, args.dataset)
    folds_backbone = args.folds_backbone or args.backbone
    folds = folds_dir(base, folds_backbone, args.backbone)
    folds_seconds = train_folds(folds, args.dataset, folds_backbone, args.folds_epochs or args.epochs, args.seed) \
        if args.folds else None
    paths = {"corpus": str(corpus(args.dataset, "train-ds")), "dynamics": str(base / "dyn-noisy"),
             "heldout": str(base / "heldout.json")}
    if (base / "dyn-threshold").exists():  # only the AUM detector with automatic thresholds reads it
        paths["threshold_dynamics"] = str(base / "dyn-threshold")
    if (folds / "folds.npz").exists():
        paths["folds"] = str(folds)
    ev = Evidence.load(paths)
    sm = ev.samples
    wrong = wrong_labels(sm, args.dataset)
    pos, neg = sm.positive & sm.candidates, ~sm.positive & sm.candidates
    detectors = {}
    if ev.threshold is not None:
        detectors["AUM + automatic thresholds"] = aum_detector()
        detectors["AUM, per form"] = per_form(aum_detector())
    detectors.update({
        LEARNED: learned_negatives(suggest=False, per_form=True),
        "training dynamics, not per form": learned_negatives(suggest=False, per_form=False),
        "training dynamics, no suppression, not per form": learned_negatives(suggest=False, suppress=False),
        # the positives the presets hand to the dynamics where the structure abstains
        "training dynamics with positives (an overlapping span beats the entity)": learned_negatives(
            suggest=False, per_form=True, positives=True),
        "dev evidence (heldout_forms)": heldout_forms(),
        "name structure v1": name_structure(),
        "name structure v1, per form": per_form(name_structure()),
        "name structure v2 (loose edges, collocations)": name_structure_v2(),
        "name structure v2, per form": per_form(name_structure_v2()),
        "name structure v3 (title-case sentences)": name_structure_v3(),
        DEFAULT: per_form(name_structure_v3()),
    })
    if ev.heldout is not None and ev.heldout.occurrences is not None:  # evidence written by `heldout` v2
        detectors[DEV] = heldout_forms_v2()
    if ev.folds is not None:
        detectors["out-of-fold disagreement"] = out_of_fold()
        detectors["out-of-fold disagreement, per form"] = per_form(out_of_fold())
    found = {}
    for name, make in detectors.items():
        start = time.time()
        s = make(ev)
        # as the decision does (protect_flagged off): no negative overlapping a distant entity that stays
        kept = sm.positive & ~(s.positive & pos)
        protected = overlaps_positive(sm.doc, sm.start, sm.end, kept)
        found[name] = (s.positive & pos, s.negative & neg & ~protected, s.score)
        print(f"{name}: {time.time() - start:.1f}s", flush=True)
    default = found[DEFAULT]
    n_pos, n_neg = int(default[0].sum()), int(default[1].sum())
    aum = -compute_scores(ev.dynamics, "auto").aum  # suspicion: the lowest AUM first
    rng = numpy.random.default_rng(0)
    rankings = {"random": rng.random(len(sm)), "AUM ranking (lowest AUM)": aum}
    if ev.folds is not None:
        rankings["out-of-fold ranking (lowest p of the distant label)"] = found["out-of-fold disagreement"][2]
        cl, status = cleanlab_scores(ev)
        if status == "ok":
            rankings["cleanlab token quality (out-of-fold probabilities)"] = -cl
    rows: Dict[str, Tuple[numpy.ndarray, numpy.ndarray]] = {}
    free_neg = neg & ~overlaps_positive(sm.doc, sm.start, sm.end, sm.positive)  # as the default's pool
    n_learned = int(found[LEARNED][1].sum())
    for name, score in rankings.items():
        rows[f"{name}, equal budget"] = (top(score, pos, n_pos), top(score, free_neg, n_neg))
    for name, score in rankings.items():  # negatives only, at the dynamics detector's budget
        rows[f"{name}, budget of the training dynamics"] = (numpy.zeros(len(sm), dtype=bool),
                                                            top(score, free_neg, n_learned))
    for name, (fp, fn, _) in found.items():
        rows[name] = (fp, fn)
    combos = {"structure or dev evidence v1": (DEFAULT, "dev evidence (heldout_forms)"),
              "structure or training dynamics (gold-free preset)": (DEFAULT, LEARNED)}
    if DEV in found:
        combos["structure or dev evidence v2 (combined preset)"] = (DEFAULT, DEV)
    if ev.folds is not None:
        combos["structure or out-of-fold per form"] = (DEFAULT, "out-of-fold disagreement, per form")
    for name, (a, b) in combos.items():
        rows[name] = (found[a][0] | found[b][0], found[a][1] | found[b][1])
    voters = ["AUM + automatic thresholds", DEV if DEV in found else "dev evidence (heldout_forms)", DEFAULT,
              LEARNED, "out-of-fold disagreement, per form"]
    voters = [n for n in voters if n in found]  # one vote per kind of evidence
    votes_p = sum(found[n][0].astype(int) for n in voters)
    votes_n = sum(found[n][1].astype(int) for n in voters)
    rows[f"vote: at least 2 of {len(voters)} ({', '.join(v.split(' (')[0].split(',')[0] for v in voters)})"] = \
        (votes_p >= 2, votes_n >= 2)
    results = {name: {"positives": prf(fp, wrong & pos), "negatives": prf(fn, wrong & neg)}
               for name, (fp, fn) in rows.items()}
    print(f"\n{args.dataset} / {args.backbone} seed {args.seed}: {int((wrong & pos).sum())} wrong distant entities, "
          f"{int((wrong & neg).sum())} missed entities; budget {n_pos} positives, {n_neg} negatives")
    print("| method | flagged + | FP P | FP R | flagged - | FN P | FN R |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        a, b = r["positives"], r["negatives"]
        print(f"| {name} | {a['flagged']} | {a['precision']:.3f} | {a['recall']:.3f} | {b['flagged']} | "
              f"{b['precision']:.3f} | {b['recall']:.3f} |")
    suffix = "" if folds_backbone == args.backbone else f"-folds-{folds_backbone.replace('/', '_')}"
    save(f"detection-{args.dataset}-{args.backbone.replace('/', '_')}{args.tag}{suffix}", {
        "dataset": args.dataset, "backbone": args.backbone, "tag": args.tag, "seed": args.seed,
        "budget": {"positives": n_pos, "negatives": n_neg, "negatives_training_dynamics": n_learned},
        "detection": results,
        "real_errors": {"positives": int((wrong & pos).sum()), "negatives": int((wrong & neg).sum())},
        "folds": ev.folds.meta if ev.folds is not None else None, "folds_seconds": folds_seconds,
    })


if __name__ == "__main__":
    main()
