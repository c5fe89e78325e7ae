"""Probe: distant entities cut from a longer name, found by the words beside them (no case).

A distant labeller that marks "states" as a person inside "united states", "lanka" inside
"sri lanka" or "clinton" inside "bill clinton" leaves a word beside the entity that, over the
corpus, is mostly followed (or preceded) by that entity's text. Counted on the distant corpus
alone (lower-cased words): a distant entity whose neighbour word (with a letter, outside any
distant entity) has the entity's text beside it in at least `--neighbour-share` of that word's
occurrences (and in at least `--entity-share` of the text's own occurrences) is flagged; the
entity and the span it makes with the neighbour are masked (the first a wrong positive, the
second the missed name), on top of the gold-free preset's cleaned corpus of the seed
(train-goldfree7.spacy of the runs `--tag`). Retrained and audited (gold read by the audit only).
    python bench/probe_bounds.py DATASET SEED [--neighbour-share 0.3] [--entity-share 0.0] [--tag=-r4]
(`--tag`: the runs to start from, bench_quality.py's tag; runs of one machine are compared only with each other)
"""
import argparse
import json
from collections import Counter
from typing import Dict, List, Tuple

from spacy.tokens import Doc, Span

from bench_quality import audit_corpus, evaluate, train
from common import RESULTS, WORK, corpus
from spacy_dynclean.convert import DOC_ID_KEY, read_docbin, save_docbin
from spacy_dynclean.recording.samples import gold_spans
from spacy_dynclean.util import DEFAULT_IGNORE_KEY


def words(doc: Doc) -> List[str]:
    return [t.text.lower() for t in doc]


def entities(doc: Doc) -> List[Span]:
    return gold_spans(doc, "sc")


def neighbour_counts(docs: List[Doc], lowered: List[List[str]]) -> Tuple[Counter, Counter, Counter]:
    """Per (entity text, side, neighbour word): occurrences of the text with that word beside it,
    anywhere in the corpus; per word, its occurrences; per entity text, its occurrences
    (`lowered`: each doc's lower-cased words)."""
    forms = {tuple(w[s.start:s.end]) for d, w in zip(docs, lowered) for s in entities(d)}
    longest = max(map(len, forms), default=0)
    beside, word, occurrences = Counter(), Counter(), Counter()
    for w in lowered:
        word.update(w)
        for i in range(len(w)):
            for n in range(1, longest + 1):
                if i + n > len(w):
                    break
                form = tuple(w[i:i + n])
                if form in forms:
                    occurrences[form] += 1
                    if i > 0:
                        beside[(form, "L", w[i - 1])] += 1
                    if i + n < len(w):
                        beside[(form, "R", w[i + n])] += 1
    return beside, word, occurrences


def flags(docs: List[Doc], neighbour_share: float, entity_share: float) -> Dict[str, List[Tuple[int, int, int, int]]]:
    """Per doc id: (entity start, end, extended start, end) of each flagged distant entity."""
    lowered = [words(d) for d in docs]
    beside, word, occurrences = neighbour_counts(docs, lowered)
    out: Dict[str, List[Tuple[int, int, int, int]]] = {}
    for doc, w in zip(docs, lowered):
        covered = {i for s in entities(doc) for i in range(s.start, s.end)}
        for s in entities(doc):
            form = tuple(w[s.start:s.end])
            for side, pos in (("L", s.start - 1), ("R", s.end)):
                if not 0 <= pos < len(w) or pos in covered or not any(ch.isalpha() for ch in w[pos]):
                    continue
                c = beside[(form, side, w[pos])]
                if c / word[w[pos]] >= neighbour_share and c / max(1, occurrences[form]) >= entity_share:
                    ext = (pos, s.end) if side == "L" else (s.start, pos + 1)
                    out.setdefault(doc.user_data[DOC_ID_KEY], []).append((s.start, s.end, *ext))
                    break
    return out


def masked(doc: Doc, found: List[Tuple[int, int, int, int]]) -> Doc:
    new = doc.copy()
    drop = {(a, b) for a, b, _, _ in found}
    keep = [Span(new, s.start, s.end, label=s.label_) for s in entities(doc) if (s.start, s.end) not in drop]
    new.set_ents(keep, default="outside")
    new.spans["sc"] = keep
    old = [(s.start, s.end) for s in doc.spans.get(DEFAULT_IGNORE_KEY, [])]
    spans = sorted(set(old) | drop | {(c, d) for _, _, c, d in found})
    new.spans[DEFAULT_IGNORE_KEY] = [Span(new, a, b) for a, b in spans]
    return new


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("dataset")
    p.add_argument("seed", type=int)
    p.add_argument("--neighbour-share", type=float, default=0.3)
    p.add_argument("--entity-share", type=float, default=0.0)
    p.add_argument("--base-variant", default="goldfree7")
    p.add_argument("--no-train", action="store_true")
    p.add_argument("--tag", default="-r4")
    a = p.parse_args()
    epochs = 5 if a.dataset.startswith("conll03") else 10
    base = WORK / "quality" / a.dataset / f"cnn{a.tag}" / f"seed{a.seed}"
    name = f"{a.base_variant}-bounds{int(a.neighbour_share * 100):02d}-{int(a.entity_share * 100):02d}"
    path = base / f"train-{name}.spacy"
    if not path.exists():
        found = flags(read_docbin(corpus(a.dataset, "train-ds")), a.neighbour_share, a.entity_share)
        cleaned = read_docbin(base / f"train-{a.base_variant}.spacy")
        save_docbin([masked(d, found[d.user_data[DOC_ID_KEY]]) if d.user_data[DOC_ID_KEY] in found else d
                     for d in cleaned], path)
        print(f"{a.dataset}: {sum(map(len, found.values()))} distant entities flagged")
    audit = audit_corpus(a.dataset, path)
    row = {"dataset": a.dataset, "seed": a.seed, "tag": a.tag, "variant": name, "audit": audit}
    if not a.no_train:
        train("cnn", base / name, path, a.dataset, a.seed, epochs)
        row.update(evaluate(base / name, a.dataset))
    print(json.dumps(row))
    with (RESULTS / "probe-bounds.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
