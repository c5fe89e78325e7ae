"""Masks as the stock `ner` can learn them: a corpus augmenter.

`clean` masks a span it is unsure of (a suspected missed entity whose type
nothing knows, a flagged entity without a usable correction): the span goes
into the ignore span group and its tokens are *missing* in `doc.ents`. The
span component then skips exactly that candidate and still learns every
other span over those tokens as a negative. spaCy's stock `ner` gets less:
a missing token makes every span over it unsupervised (any action costs
nothing there), so a mask costs it the negatives the span component keeps.

This augmenter gives them back through the `ner`'s own mechanism for known
wrong spans (`incorrect_spans_key`): every span up to `max_length` tokens
that overlaps a masked span is written, with each of the component's labels,
into the incorrect-spans group, except the masked spans themselves (still
unknown) and spans touching a missing token that no mask explains (a
region the corpus itself left unannotated). The `ner` then learns what the
span component learns: here is either the masked span or nothing.

Only spans that *end* on a masked token followed by another token of the
same sentence are written: spaCy's oracle needs a move that costs nothing
from every state, and an entity opened inside a mask keeps one (continuing
it costs nothing on a missing token) only if its closings elsewhere stay
free. So a span that runs from a mask into labelled text, or to the end of
a sentence, is not ruled out, as before.

Experimental, in no shipped config: spaCy's oracle charges a known wrong
span only on the moves that close it (Last, Unit), never on the move that
opens it (Begin), so the negatives push the model to open entities inside
masks and carry them on. Measured with the combined preset's corpora
(bench/bench_ner_masks.py, CNN, docs/decisions.md): wiki +1.8 F1 over the
plain masked corpus, conll03 +0.1, webpage -10.5 (its predicted entities
grow from 2.7 to 4.0 tokens on average).
"""
from typing import Callable, Iterator, List, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example

from .util import DEFAULT_IGNORE_KEY, DynCleanError

#: Default span group the augmenter writes, and the stock `ner`'s `incorrect_spans_key` must name.
DEFAULT_INCORRECT_KEY = "dynclean_incorrect"


def mask_negatives(doc: Doc, labels: Sequence[str], *, ignore_key: str = DEFAULT_IGNORE_KEY,
                   max_length: int = 8) -> List[Tuple[int, int, str]]:
    """(start, end, label) of the spans a mask rules out: every span of at
    most `max_length` tokens over a missing token of a masked span that ends
    on such a token (not the sentence's last), for every label, except the
    masked spans and spans touching a missing token no mask covers."""
    masks = {(s.start, s.end) for s in doc.spans.get(ignore_key, [])}
    if not masks or not labels:
        return []
    missing = {t.i for t in doc if t.ent_iob_ == ""}
    explained: Set[int] = {t for s, e in masks for t in range(s, e)} & missing
    unexplained = missing - explained
    n = len(doc)
    out: List[Tuple[int, int, str]] = []
    # spans ending on a masked token that another token of the sentence follows (see the module docstring)
    ends = sorted(t + 1 for t in explained if t + 1 < n and not doc[t + 1].is_sent_start)
    spans = sorted((start, end) for end in ends for start in range(max(0, end - max_length), end))
    for start, end in spans:
        if (start, end) in masks or unexplained.intersection(range(start, end)):
            continue
        out.extend((start, end, label) for label in labels)
    return out


def masks_as_negatives(nlp: Language, example: Example, *, component: str, ignore_key: str,
                       incorrect_key: str, max_length: int) -> Iterator[Example]:
    """The example with its masks' negatives in `incorrect_key` of the
    reference doc (a copy; the corpus's doc is left as it was). Before the
    component has labels (its initialization) the example is unchanged."""
    ref = example.reference
    labels = list(getattr(nlp.get_pipe(component), "labels", ())) if component in nlp.pipe_names else []
    negatives = mask_negatives(ref, labels, ignore_key=ignore_key, max_length=max_length)
    if not negatives:
        yield example
        return
    ref = ref.copy()  # no negative is an entity: each covers a missing token
    ref.spans[incorrect_key] = [Span(ref, s, e, label=label) for s, e, label in negatives]
    yield Example(example.predicted, ref)


def create_masks_as_negatives(component: str = "ner", ignore_key: str = DEFAULT_IGNORE_KEY,
                              incorrect_key: str = DEFAULT_INCORRECT_KEY, max_length: int = 8
                              ) -> Callable[[Language, Example], Iterator[Example]]:
    """Registered as `spacy-dynclean.masks_as_negatives.v1` (an augmenter of
    the training corpus; set the `ner`'s `incorrect_spans_key` to
    `incorrect_key`)."""
    if max_length < 1:
        raise DynCleanError(f"masks_as_negatives: max_length must be at least 1, not {max_length}")
    if not ignore_key or not incorrect_key or ignore_key == incorrect_key:
        raise DynCleanError("masks_as_negatives: ignore_key and incorrect_key must be two different span groups, "
                            f"not {ignore_key!r} and {incorrect_key!r}")

    def augment(nlp: Language, example: Example) -> Iterator[Example]:
        return masks_as_negatives(nlp, example, component=component, ignore_key=ignore_key,
                                  incorrect_key=incorrect_key, max_length=max_length)

    return augment
