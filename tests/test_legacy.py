import random

import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from spacy_dynclean.legacy import create_masks_as_negatives, mask_negatives
from spacy_dynclean.util import DynCleanError

LABELS = ["LOC", "PER"]


def masked_doc(words, ents, masks, missing_extra=()):
    """A doc whose `masks` are in the ignore group and missing in doc.ents
    (as `clean` writes them); `missing_extra`: tokens missing with no mask."""
    doc = Doc(spacy.blank("en").vocab, words=words)
    missing = sorted({t for s, e in masks for t in range(s, e)} | set(missing_extra))
    doc.set_ents([Span(doc, s, e, label=lab) for s, e, lab in ents], missing=[doc[t:t + 1] for t in missing],
                 default="outside")
    doc.spans["dynclean_ignored"] = [doc[s:e] for s, e in masks]
    return doc


def test_a_mask_rules_out_the_other_spans_over_it():
    doc = masked_doc(["Yesterday", "Anna", "met", "Carl", "Lee", "in", "town"], [(1, 2, "PER")], [(3, 5)])
    spans = {(s, e) for s, e, _ in mask_negatives(doc, LABELS, max_length=3)}
    # inside the mask and from labelled text into it: ruled out
    assert {(3, 4), (4, 5), (2, 4), (2, 5), (1, 4)} <= spans
    # the masked span itself stays unknown; spans ending outside the mask are not written
    assert (3, 5) not in spans and (3, 6) not in spans and (4, 6) not in spans
    # every label of each span, and no span longer than max_length
    per_span = [(s, e) for s, e, _ in mask_negatives(doc, LABELS, max_length=3)]
    assert all(per_span.count(x) == 2 for x in spans) and all(e - s <= 3 for s, e in spans)


def test_spans_at_the_end_or_over_unexplained_missing_tokens_are_not_written():
    doc = masked_doc(["Anna", "met", "Carl", "Lee"], [], [(2, 4)])
    assert {(s, e) for s, e, _ in mask_negatives(doc, LABELS)} == {(2, 3), (1, 3), (0, 3)}
    doc = masked_doc(["Anna", "met", "Carl", "Lee", "today"], [], [(2, 3)], missing_extra=[3])
    # "Lee" is missing with no mask: nothing over it is known
    assert {(s, e) for s, e, _ in mask_negatives(doc, LABELS)} == {(1, 3), (0, 3)}
    assert mask_negatives(masked_doc(["a", "b"], [], []), LABELS) == []
    assert mask_negatives(doc, []) == []


def test_the_augmenter_writes_a_copy_and_waits_for_labels():
    nlp = spacy.blank("en")
    doc = masked_doc(["Yesterday", "Anna", "met", "Carl", "Lee", "in", "town"], [(1, 2, "PER")], [(3, 5)])
    eg = Example(nlp.make_doc(doc.text), doc)
    augment = registry.augmenters.get("spacy-dynclean.masks_as_negatives.v1")()
    # no ner yet, or one without labels: the example unchanged
    assert list(augment(nlp, eg)) == [eg]
    nlp.add_pipe("ner", config={"incorrect_spans_key": "dynclean_incorrect"})
    assert list(augment(nlp, eg)) == [eg]
    for label in LABELS:
        nlp.get_pipe("ner").add_label(label)
    (out,) = list(augment(nlp, eg))
    assert len(out.reference.spans["dynclean_incorrect"]) == len(mask_negatives(doc, LABELS))
    assert "dynclean_incorrect" not in doc.spans  # the corpus's doc is not changed
    assert [(e.text, e.label_) for e in out.reference.ents] == [("Anna", "PER")]


def test_bad_settings_are_refused():
    with pytest.raises(DynCleanError, match="max_length"):
        create_masks_as_negatives(max_length=0)
    with pytest.raises(DynCleanError, match="two different span groups"):
        create_masks_as_negatives(ignore_key="x", incorrect_key="x")


def test_the_stock_ner_trains_on_random_masks():
    """spaCy's oracle (used to cut docs of 100 tokens and more) raises E024
    where no move costs nothing; masks anywhere, doc ends included, must
    never cause it."""
    rng = random.Random(0)
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner", config={"incorrect_spans_key": "dynclean_incorrect"})
    augment = create_masks_as_negatives(max_length=4)
    examples = []
    for i in range(60):
        n = 120 if i % 10 == 0 else rng.randint(1, 9)
        words = [rng.choice(["Anna", "Carl", "met", "in", "Oslo", "the"]) for _ in range(n)]
        ents, masks, t = [], [], 0
        while t < n:
            e = min(n, t + rng.randint(1, 3))
            kind = rng.random()
            if kind < 0.3:
                ents.append((t, e, rng.choice(LABELS)))
            elif kind < 0.6:
                masks.append((t, e))
            t = e + rng.randint(0, 1)
        doc = masked_doc(words, ents, masks)
        examples.append(Example(nlp.make_doc(doc.text), doc))
    for label in LABELS:
        ner.add_label(label)
    nlp.initialize(lambda: examples)
    augmented = [a for eg in examples for a in augment(nlp, eg)]
    assert sum(len(a.reference.spans.get("dynclean_incorrect", [])) for a in augmented) > 100
    assert sum(len(ner.moves.get_oracle_sequence(a)) for a in augmented) > 300
    losses = {}
    for _ in range(5):
        nlp.update(augmented, sgd=nlp.create_optimizer(), losses=losses)
    assert losses["ner"] > 0
