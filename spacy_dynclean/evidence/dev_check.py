"""Does the dev set behind the dev evidence look gold-labelled?

Dev evidence is only evidence if the dev labels are gold: a dev set labelled
by the same gazetteer or rules as the training corpus repeats its errors, and
the evidence then confirms them. Gold labels name entities that distant
labels miss, so a gold dev set has more entities whose text the training
labels never give ("novel" entities) than distant labels of the same kind of
text. The reference is the training corpus itself: the novel share of a held
out tenth of its docs against the other nine tenths is what distant labels
give. A dev set whose novel share is not clearly above it looks distantly
labelled. With fewer than `min_entities` entities on either side the
shares are too noisy to say (no verdict).
"""
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

from spacy.tokens import Doc

from spacy_dynclean.evidence.heldout import FormEvidence
from spacy_dynclean.recording.samples import gold_spans

HELD_OUT_EVERY = 10  # every 10th training doc is the reference's held-out tenth


@dataclass
class DevCheck:
    """Novel-entity shares of the dev set and of the training corpus's own held-out tenth."""

    dev_novel: float
    train_novel: float
    dev_entities: int
    train_entities: int
    margin: float
    min_entities: int

    @property
    def looks_distant(self) -> Optional[bool]:
        """True: distantly labelled by the look of it; None: too few entities to say."""
        if min(self.dev_entities, self.train_entities) < self.min_entities:
            return None
        return self.dev_novel < self.train_novel + self.margin

    def warning(self) -> Optional[str]:
        if not self.looks_distant:
            return None
        return (f"the dev set looks distantly labelled: {self.dev_novel:.0%} of its {self.dev_entities:,} "
                f"entities have a text the training labels never give, against {self.train_novel:.0%} in a "
                f"held-out tenth of the training corpus (gold labels name more entities that distant labels "
                f"miss). Dev evidence is only evidence with gold dev labels; without them use the goldfree "
                f"preset")


def novel_share(entities: Counter, known: Iterable[str]) -> float:
    """Share of the entity occurrences (text -> count) whose text is not in `known`."""
    known = set(known)
    total = sum(entities.values())
    return sum(n for text, n in entities.items() if text not in known) / total if total else 0.0


def entity_texts(docs: List[Doc], spans_key: str, first: int = 0) -> Tuple[Counter, Counter]:
    """The entity texts of every 10th training doc (counting from the corpus's
    first, `first` being the position of `docs[0]`), and of the others."""
    held: Counter = Counter()
    rest: Counter = Counter()
    for i, doc in enumerate(docs, first):
        (held if i % HELD_OUT_EVERY == 0 else rest).update(span.text for span in gold_spans(doc, spans_key))
    return held, rest


def check_dev(forms: FormEvidence, docs: List[Doc], spans_key: str, margin: float = 0.1,
              min_entities: int = 100) -> DevCheck:
    """Compare the dev gold entities of `forms` with the training `docs`' distant entities."""
    return check_dev_counts(forms, *entity_texts(docs, spans_key), margin=margin, min_entities=min_entities)


def check_dev_counts(forms: FormEvidence, held: Counter, rest: Counter, margin: float = 0.1,
                     min_entities: int = 100) -> DevCheck:
    """`check_dev` from the training corpus's `entity_texts`."""
    dev: Counter = Counter()
    for (text, _), n in forms.gold.items():
        dev[text] += n
    return DevCheck(
        dev_novel=novel_share(dev, held.keys() | rest.keys()),
        train_novel=novel_share(held, rest),
        dev_entities=sum(dev.values()), train_entities=sum(held.values()), margin=margin,
        min_entities=min_entities,
    )
