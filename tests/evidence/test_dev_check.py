import spacy
from spacy.tokens import Span

from spacy_dynclean.evidence.dev_check import check_dev, novel_share
from spacy_dynclean.evidence.heldout import FormEvidence

NAMES = [f"Name{i}" for i in range(400)]


def corpus(names):
    """One doc per name, the name labelled PER in span group "sc"."""
    nlp = spacy.blank("en")
    docs = []
    for name in names:
        doc = nlp(f"{name} spoke")
        doc.spans["sc"] = [Span(doc, 0, 1, "PER")]
        docs.append(doc)
    return docs


def dev_evidence(names):
    ev = FormEvidence()
    for name in names:
        ev.add([], [(0, 1, "PER", name)])
    return ev


def test_novel_share_counts_occurrences():
    from collections import Counter

    assert novel_share(Counter({"a": 3, "b": 1}), {"a"}) == 0.25
    assert novel_share(Counter(), {"a"}) == 0.0


def test_a_dev_set_labelled_like_the_corpus_looks_distant():
    # the training corpus: 299 names, each four times (a held-out tenth finds most of its names in the rest)
    train = corpus(NAMES[:299] * 4)
    same = check_dev(dev_evidence(NAMES[:150]), train, "sc")  # dev entities all known to the training labels
    assert same.dev_novel == 0.0 and same.looks_distant is True
    assert "looks distantly labelled" in same.warning() and "goldfree" in same.warning()
    gold = check_dev(dev_evidence(NAMES[:75] + NAMES[300:375]), train, "sc")  # half the dev entities are new
    assert gold.dev_novel == 0.5 and gold.looks_distant is False and gold.warning() is None


def test_too_few_entities_give_no_verdict():
    train = corpus(NAMES[:299] * 4)
    few = check_dev(dev_evidence(NAMES[:20]), train, "sc")
    assert few.looks_distant is None and few.warning() is None
    assert check_dev(dev_evidence(NAMES[:20]), train, "sc", min_entities=10).looks_distant is True
