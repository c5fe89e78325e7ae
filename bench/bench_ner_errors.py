"""Where does the stock `ner` lose what the span component gains? Two
measurements on runs bench_quality already made (no training):

- **test predictions by kind**, per run (noisy and cleaned, span component
  and stock `ner`): correct; right bounds, wrong type; overlapping a gold
  entity with other bounds; spurious (touching no gold entity) in title
  case (every alphabetic token capitalized, e.g. a heading or a name-like
  run); spurious otherwise. Mean count per seed on the test set.
- **can a teacher tell the masks apart?** The span component retrained on
  the cleaned corpus (the self-training round's teacher) scores every
  candidate span of the training docs; per masked token, its highest
  entity probability over the candidates covering it. Against the gold
  train labels (bench only, never an input to cleaning): the share of
  masked tokens inside a gold entity, the AUC of that probability, and the
  gold share among the tokens it is least sure of. Filling a mask's tokens
  with non-entity gives the `ner` back the supervision a mask takes away,
  and is safe only where the teacher can tell those tokens apart.

    python bench/bench_ner_errors.py --dataset webpage --seeds 0,1,2,3,4,5,6,7,8,9 --tag=-r3

Results: bench/results/ner-errors-<dataset>-cnn<tag>.json.
"""
import argparse
import statistics
from collections import Counter
from pathlib import Path
from typing import Dict, List

import numpy
from bench_quality import trained
from common import WORK, corpus, save

from spacy_dynclean.convert import read_docbin
from spacy_dynclean.cleaning.selftrain import masked_regions

KINDS = ("correct", "wrong_type", "wrong_bounds", "spurious_title_case", "spurious_other")
LOW = (0.05, 0.5)


def title_case(span) -> bool:
    return all(t.text[:1].isupper() for t in span if t.is_alpha) and any(t.is_alpha for t in span)


def prediction_kinds(model: Path, docs: list) -> Counter:
    """Count the pipeline's test entities by kind against the gold `docs`."""
    import spacy

    nlp = spacy.load(model)
    counts: Counter = Counter()
    for gold, pred in zip(docs, nlp.pipe(d.text for d in docs)):
        exact = {(e.start_char, e.end_char, e.label_) for e in gold.ents}
        bounds = {(e.start_char, e.end_char) for e in gold.ents}
        chars = {i for e in gold.ents for i in range(e.start_char, e.end_char)}
        for e in pred.ents:
            if (e.start_char, e.end_char, e.label_) in exact:
                counts["correct"] += 1
            elif (e.start_char, e.end_char) in bounds:
                counts["wrong_type"] += 1
            elif chars.intersection(range(e.start_char, e.end_char)):
                counts["wrong_bounds"] += 1
            else:
                counts["spurious_title_case" if title_case(e) else "spurious_other"] += 1
    return counts


def auc(scores: numpy.ndarray, positive: numpy.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    from scipy.stats import rankdata

    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def teacher_masks(model: Path, corrected: Path, gold_train: Dict[str, set]) -> Dict[str, float]:
    """The teacher's highest entity probability per masked token against gold."""
    import spacy
    from spacy.tokens import Doc

    nlp = spacy.load(model)
    component = nlp.get_pipe("dynclean_ner")
    non_entity = len(component.labels)
    scores: List[float] = []
    inside: List[bool] = []
    docs = [(doc, [t for s, e in masked_regions(doc) for t in range(s, e)]) for doc in read_docbin(corrected)]
    docs = [(doc, masked) for doc, masked in docs if masked]
    words = (Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc]) for doc, _ in docs)
    for (doc, masked), encoded in zip(docs, nlp.pipe(words, disable=["dynclean_ner"])):
        indices, probs = component.predict([encoded])
        best = numpy.zeros(len(doc))
        for (start, end), p in zip(indices.dataXd, 1.0 - numpy.asarray(probs)[:, non_entity]):
            best[start:end] = numpy.maximum(best[start:end], p)
        gold = gold_train[doc.user_data["dynclean_id"]]
        scores.extend(best[masked])
        inside.extend(i in gold for i in masked)
    s, y = numpy.array(scores), numpy.array(inside, dtype=bool)
    out = {"masked_tokens": len(s), "gold_entity_share": round(float(y.mean()), 3), "auc": round(auc(s, y), 3)}
    for low in LOW:
        below = s < low
        out[f"below_{low}"] = round(float(below.mean()), 3)
        out[f"below_{low}_gold_entity_share"] = round(float(y[below].mean()), 3) if below.any() else None
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--variant", default="combined4")
    p.add_argument("--tag", default="")
    args = p.parse_args()
    v = args.variant
    runs = ["noisy", v, "noisy_ner", f"{v}_ner"]
    test = read_docbin(corpus(args.dataset, "test"))
    gold_train = {d.user_data["dynclean_id"]: {t for e in d.ents for t in range(e.start, e.end)}
                  for d in read_docbin(corpus(args.dataset, "train-gs"))}
    kinds: Dict[str, List[Dict[str, int]]] = {r: [] for r in runs}
    teacher: List[Dict[str, float]] = []
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds:
        base = WORK / "quality" / args.dataset / f"{args.backbone}{args.tag}" / f"seed{seed}"
        missing = [r for r in runs if not trained(base / r)]
        if missing:
            raise SystemExit(f"{base}: no finished run {', '.join(missing)}; run bench_quality first")
        for r in runs:
            kinds[r].append(dict(prediction_kinds(base / r / "model-best", test)))
        teacher.append({"seed": seed, **teacher_masks(base / v / "model-best", base / f"train-{v}.spacy",
                                                      gold_train)})
        print(f"seed {seed}: " + ", ".join(f"{r} {kinds[r][-1].get('correct', 0)}/{sum(kinds[r][-1].values())}"
                                           for r in runs) + f"; teacher AUC {teacher[-1]['auc']}")
    print(f"\n{args.dataset}, {len(seeds)} seeds: test entities predicted per seed, by kind (mean)")
    print(f"{'run':16s} " + " ".join(f"{k:>19s}" for k in KINDS + ("all",)))
    means: Dict[str, Dict[str, float]] = {}
    for r in runs:
        means[r] = {k: round(statistics.mean(c.get(k, 0) for c in kinds[r]), 1) for k in KINDS}
        means[r]["all"] = round(statistics.mean(sum(c.values()) for c in kinds[r]), 1)
        print(f"{r:16s} " + " ".join(f"{means[r][k]:19.1f}" for k in KINDS + ("all",)))
    print("\nthe teacher on the masked training tokens (per seed)")
    for t in teacher:
        print("  " + ", ".join(f"{k} {val}" for k, val in t.items()))
    summary = {k: (round(statistics.mean(t[k] for t in teacher), 3), min(t[k] for t in teacher),
                   max(t[k] for t in teacher))
               for k in teacher[0] if k != "seed" and all(t[k] is not None for t in teacher)}
    print("  mean (min, max): " + ", ".join(f"{k} {m} ({lo}, {hi})" for k, (m, lo, hi) in summary.items()))
    save(f"ner-errors-{args.dataset}-{args.backbone}{args.tag}",
         {"dataset": args.dataset, "seeds": args.seeds, "variant": v, "kinds": kinds, "mean_kinds": means,
          "teacher": teacher, "teacher_summary": summary})


if __name__ == "__main__":
    main()
