"""Would a text's distant label, carried to its unlabelled occurrences, find missed entities? (issue 26)

For every text (lower-cased words) that the distant labels mark as an entity
somewhere, its free occurrences (the same words as a candidate span that
overlaps no distant entity), grouped by the share of the text's occurrences
that are labelled; per group, how many free occurrences are gold entities and
how many carry the text's majority distant label (train-label audit only:
gold is read here, never by `clean`). No training.

    python bench/bench_form_propagation.py --datasets conll03-lc,wiki-lc,webpage-lc
"""
import argparse
from collections import Counter, defaultdict
from typing import Any, Dict, List, Tuple

from common import corpus, save

from spacy_dynclean.convert import read_docbin

BINS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))


def free_occurrences(dataset: str) -> Tuple[Dict[Tuple[str, ...], Counter], List[Tuple[Tuple[str, ...], Any]]]:
    """The labelled texts with their distant labels, and each free occurrence with its gold label (or None)."""
    distant = read_docbin(corpus(dataset, "train-ds"))
    gold = {d.user_data["dynclean_id"]: d for d in read_docbin(corpus(dataset, "train-gs"))}
    labels: Dict[Tuple[str, ...], Counter] = defaultdict(Counter)
    for doc in distant:
        for ent in doc.ents:
            labels[tuple(t.text.lower() for t in ent)][ent.label_] += 1
    longest = max((len(f) for f in labels), default=0)
    found = []
    for doc in distant:
        truth = {(e.start, e.end): e.label_ for e in gold[doc.user_data["dynclean_id"]].ents}
        covered = {i for ent in doc.ents for i in range(ent.start, ent.end)}
        words = [t.text.lower() for t in doc]
        for i in range(len(words)):
            for n in range(1, longest + 1):
                if i + n > len(words) or covered.intersection(range(i, i + n)):
                    break
                form = tuple(words[i: i + n])
                if form in labels:
                    found.append((form, truth.get((i, i + n))))
    return labels, found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="conll03-lc,wiki-lc,webpage-lc")
    args = p.parse_args()
    rows = []
    for dataset in args.datasets.split(","):
        labels, found = free_occurrences(dataset)
        n_free = Counter(form for form, _ in found)
        for low, high in BINS:
            group = [(f, g) for f, g in found if sum(labels[f].values()) + n_free[f] >= 3
                     and low <= sum(labels[f].values()) / (sum(labels[f].values()) + n_free[f]) < high]
            entity = sum(g is not None for _, g in group)
            majority = sum(g == labels[f].most_common(1)[0][0] for f, g in group)
            row = {"dataset": dataset, "share_from": low, "share_to": min(high, 1.0), "free_occurrences": len(group),
                   "gold_entity": round(entity / len(group), 3) if group else None,
                   "majority_label_right": round(majority / len(group), 3) if group else None}
            print(row)
            rows.append(row)
    save("form-propagation", {"rows": rows})


if __name__ == "__main__":
    main()
