"""Old versions and an experiment, kept apart from the live parts (as
spacy-legacy keeps spaCy's) so that their registered names keep working: a
version never changes meaning.

- `name_structure.v1`, `v2`: `name_structure.v3` with its later settings off.
- `heldout_forms.v1`: `heldout_forms.v2` without `min_entity_share`.
- `masks_as_negatives.v1`: an experimental augmenter of the training corpus
  for spaCy's stock `ner`, in no shipped config (docs/decisions.md has its
  measurements: it helps on some corpora and hurts badly on others).

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

spaCy's oracle charges a known wrong span only on the moves that close it
(Last, Unit), never on the move that opens it (Begin), so the negatives can
push a model to open entities inside masks.
"""
from functools import partial
from typing import Callable, Iterator, List, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Detector, check_range
from spacy_dynclean.cleaning.detectors.heldout_forms import check_settings, heldout_suspicion
from spacy_dynclean.cleaning.detectors.name_structure import name_structure_suspicion
from spacy_dynclean.util import DEFAULT_IGNORE_KEY, DynCleanError


# --- detectors ---------------------------------------------------------------------------------


@registry.misc("spacy-dynclean.heldout_forms.v1")
def heldout_forms(min_predicted: int = 1, max_precision: float = 0.0, negatives: bool = True,
                  min_missed_share: float = 0.5) -> Detector:
    """Systematic errors by surface form, from the recording run's
    predictions on a gold dev set (`python -m spacy_dynclean heldout`)."""
    check_settings(min_predicted, max_precision, min_missed_share)
    return partial(heldout_suspicion, min_predicted=min_predicted, max_precision=max_precision,
                   negatives=bool(negatives), min_missed_share=min_missed_share)


@registry.misc("spacy-dynclean.name_structure.v1")
def name_structure(confidence: float = 0.9, positives: bool = True, negatives: bool = True) -> Detector:
    """Gold-free: flags distant entities strictly inside a longer run of
    capitalized names (partial matches) or made of words the corpus mostly
    writes in lower case (spurious), and unlabelled name runs (missed
    entities); `confidence`: how sure the corpus must be that a word is common."""
    check_range("confidence", confidence, 0.5, 1)
    return partial(name_structure_suspicion, confidence=confidence, positives=bool(positives),
                   negatives=bool(negatives))


@registry.misc("spacy-dynclean.name_structure.v2")
def name_structure_v2(confidence: float = 0.9, positives: bool = True, negatives: bool = True,
                      edges: bool = True, collocations: bool = True) -> Detector:
    """As v1, and with `edges` also flags a multi-word distant entity with
    loose edges: a lower-case word at either end ("European Union and") or a
    possessive clitic at the end ("News Corp 's"), suggesting the trimmed span
    with the same label; with `collocations`, a capitalized common word is
    part of a name where the corpus capitalizes it beside that name (at
    posterior `confidence`): "Old Trafford", "New England"."""
    check_range("confidence", confidence, 0.5, 1)
    return partial(name_structure_suspicion, confidence=confidence, positives=bool(positives),
                   negatives=bool(negatives), edges=bool(edges), collocations=bool(collocations))


# --- the masks-as-negatives augmenter (experimental) -----------------------------------------------

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
