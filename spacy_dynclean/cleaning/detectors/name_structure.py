"""The structure of the text (gold-free): partial matches, common words and
unlabelled names, read from how the corpus capitalizes its words (see
`evidence.structure`)."""
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from sys import intern
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.util import registry

from spacy_dynclean.cleaning.contract import Detector, Proposals, Suspicion, check_range
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.evidence.structure import (CasingStats, CollocationStats, extend, free_runs,
                                               has_case_information, is_title_case, name_mask)
from spacy_dynclean.recording.samples import candidate_row, gold_spans

@dataclass
class LabelVotes:
    """The distant labels of the entity texts: the occurrences of each (text,
    label column), and the sample-table row where each was first met."""

    counts: Counter = field(default_factory=Counter)
    first: Dict[Tuple[str, int], int] = field(default_factory=dict)

    def __iadd__(self, other: "LabelVotes") -> "LabelVotes":
        self.counts.update(other.counts)
        for key, row in other.first.items():
            if row < self.first.get(key, row + 1):
                self.first[key] = row
        return self


def label_votes(evidence: Evidence) -> LabelVotes:
    """The `LabelVotes` of the distant entities of `evidence`."""
    samples = evidence.samples
    docs = evidence.docs_by_position()
    votes = LabelVotes()
    rows = numpy.nonzero(samples.positive & ~samples.threshold)[0]
    for row, table_row in zip(rows.tolist(), evidence.table_rows(rows).tolist()):
        text = docs[int(samples.doc[row])][int(samples.start[row]): int(samples.end[row])].text
        key = (text, int(samples.label[row]))
        votes.counts[key] += 1
        votes.first.setdefault(key, table_row)
    return votes


def corpus_labels(evidence: Evidence) -> Dict[str, int]:
    """The majority distant label column of each entity text in the corpus
    (over the occurrences that carry a label: distant labels miss a text in
    many of its occurrences, and where they label it, the label is the
    evidence; of labels as frequent, the one met first in the sample table)."""
    (votes,) = evidence.counts({"label_votes": label_votes})

    def make() -> Dict[str, int]:
        best: Dict[str, Tuple[int, int, int]] = {}  # text: (count, -first row, label)
        for (text, label), n in votes.counts.items():
            mine = (n, -votes.first[(text, label)], label)
            if text not in best or mine > best[text]:
                best[text] = mine
        return {text: label for text, (_, _, label) in best.items()}

    return evidence.once("corpus_labels", make)


def labelled_extension(doc: Any, start: int, end: int, blocked: List[bool], labels_of: Dict[str, int],
                       max_len: int) -> tuple:
    """The longest span around [start, end) that adds only capitalized words no
    other entity holds and whose text the corpus labels as an entity
    elsewhere; (start, end) when there is none."""
    words = [t.text for t in doc]

    def ok(i: int) -> bool:
        return words[i][:1].isupper() and not blocked[i]

    lefts = [start]
    while lefts[-1] > 0 and ok(lefts[-1] - 1) and end - lefts[-1] < max_len:
        lefts.append(lefts[-1] - 1)
    rights = [end]
    while rights[-1] < len(words) and ok(rights[-1]) and rights[-1] - start < max_len:
        rights.append(rights[-1] + 1)
    best = (start, end)
    for left in lefts:
        for right in rights:
            if (left, right) != (start, end) and right - left <= max_len and doc[left:right].text in labels_of \
                    and right - left > best[1] - best[0]:
                best = (left, right)
    return best


def loose_edge_trim(words: Sequence[str]) -> Tuple[int, int]:
    """(left, right) counts of words to trim from the edges of an entity: a
    name neither starts nor ends with a lower-case word ("European Union and",
    "Banco de") or ends with a possessive clitic ("News Corp 's"); (0, 0)
    when nothing is loose or nothing would remain. (Punctuation is no cue:
    a quoted title keeps its quotes.)"""
    def loose(w: str, left: bool) -> bool:
        return (w[:1].isalpha() and w.islower()) or (not left and w in ("'s", "'"))

    left, right = 0, len(words)
    while left < right and loose(words[left], True):
        left += 1
    while right > left and loose(words[right - 1], False):
        right -= 1
    if left == right:
        return 0, 0
    return left, len(words) - right


#: What the structure finds, as counted in its details.
KINDS = ("partial_matches", "common_words", "loose_edges", "unlabelled_names")


@dataclass
class Marks:
    """The flags, scores, suggested spans and counts a detector builds up."""

    positive: numpy.ndarray
    negative: numpy.ndarray
    score: numpy.ndarray
    proposals: List[tuple] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    @classmethod
    def empty(cls, n: int) -> "Marks":
        counts = Counter({kind: 0 for kind in KINDS})  # every kind, in one order, so batches add up alike
        return cls(numpy.zeros(n, dtype=bool), numpy.zeros(n, dtype=bool), numpy.full(n, numpy.nan, "float32"),
                   counts=counts)


@dataclass
class StructureJudge:
    """The corpus-wide statistics and settings that judge one sentence."""

    evidence: Evidence
    common: Any
    pairs: Optional[CollocationStats]
    labels_of: Dict[str, int]
    positives: bool
    negatives: bool
    edges: bool
    title_case: bool
    unlabelled: numpy.ndarray = field(init=False)

    def __post_init__(self) -> None:
        # candidates that are no distant entity, computed once (the sample table's
        # masks are built over the whole corpus on each access)
        samples = self.evidence.samples
        self.unlabelled = samples.candidates & ~samples.positive

    def entity(self, doc: Any, words: List[str], row: int, is_name: List[bool], others: List[bool]
               ) -> Optional[Tuple[str, Tuple[int, int, int]]]:
        """(kind, suggested span and label) of a suspect distant entity, or None."""
        samples, max_len = self.evidence.samples, self.evidence.max_span_length
        s, e = int(samples.start[row]), int(samples.end[row])
        start, end = extend(s, e, is_name, others)
        alpha = [w for w in words[s:e] if w[:1].isalpha()]
        if (start, end) == (s, e) or end - start > max_len:
            # a longer span of capitalized words around it that the corpus labels elsewhere
            # ("New York" LOC around "York" PER, though "new" is a common word)
            start, end = labelled_extension(doc, s, e, others, self.labels_of, max_len)
        if (start, end) != (s, e):
            return "partial_matches", (start, end, self.labels_of.get(doc[start:end].text, -1))
        if alpha and all(w in self.common for w in alpha):
            return "common_words", (s, e, len(samples.labels))
        if self.edges and e - s > 1 and (trim := loose_edge_trim(words[s:e])) != (0, 0):
            return "loose_edges", (s + trim[0], e - trim[1], int(samples.label[row]))
        return None

    def sentence(self, p: int, doc: Any, words: List[str], rows: List[int], marks: Marks) -> None:
        """Judge the distant entities `rows` of sentence `p` and its unlabelled name runs."""
        informative = has_case_information(words)
        if not informative and not (self.title_case and is_title_case(words)):
            return  # a capital says nothing here
        evidence, samples = self.evidence, self.evidence.samples
        is_name = name_mask(words, self.common, self.pairs, title_case=self.title_case)
        covered = [False] * len(words)
        for ent in gold_spans(doc, samples.spans_key):  # entities too long to be samples block too
            for t in range(ent.start, ent.end):
                covered[t] = True
        for row in rows if self.positives else []:
            marks.score[row] = 0.0  # judged: a sentence with case information
            s, e = int(samples.start[row]), int(samples.end[row])
            verdict = self.entity(doc, words, row, is_name, [c and not s <= t < e for t, c in enumerate(covered)])
            if verdict is None:
                continue
            kind, suggestion = verdict
            marks.positive[row], marks.score[row] = True, 1.0
            marks.proposals.append((row, p, *suggestion, 1.0))
            marks.counts[kind] += 1
            if kind == "partial_matches" and self.negatives and informative:  # the whole run is missed too
                run_row = evidence.row_of(p, suggestion[0], suggestion[1])
                marks.negative[run_row], marks.score[run_row] = True, 1.0
        for start, end in free_runs(is_name, covered) if self.negatives and informative else []:
            row = evidence.row_of(p, start, end)
            if row >= 0 and self.unlabelled[row]:
                marks.negative[row], marks.score[row] = True, 1.0
                marks.proposals.append((-1, p, start, end, self.labels_of.get(doc[start:end].text, -1), 1.0))
                marks.counts["unlabelled_names"] += 1


def capital_starts(evidence: Evidence) -> Tuple[int, int]:
    """(distant entities starting with a capital, distant entities starting with a letter)."""
    samples = evidence.samples
    words_of = evidence.docs_by_position()
    starts = [words_of[int(samples.doc[r])][int(samples.start[r])].text for r in numpy.nonzero(samples.positive)[0]]
    starts = [w for w in starts if w[:1].isalpha()]
    return sum(w[:1].isupper() for w in starts), len(starts)


def names_capitalized(evidence: Evidence) -> bool:
    """Whether most distant entities start with a capital: whether this corpus marks names by case at all."""
    ((upper, alpha),) = evidence.counts({"capital_starts": capital_starts})
    return bool(alpha) and upper > alpha / 2


def words_in(evidence: Evidence) -> List[List[str]]:
    """The words of each doc, in sample-table order (each distinct word held once)."""
    return evidence.cached("words", lambda: [[intern(t.text) for t in doc] for doc in evidence.docs_by_position()])


def name_structure_suspicion(evidence: Evidence, *, confidence: float = 0.9, positives: bool = True,
                             negatives: bool = True, edges: bool = False,
                             collocations: bool = False, title_case: bool = False) -> Suspicion:
    """Partial matches, common words and unlabelled names, from the casing of
    the corpus (see `evidence.structure`). Suggests the whole name run for a
    partial match and the run for an unlabelled name (typed by the corpus's
    majority distant label of that text, where it has one; else -1), and
    non-entity for a common word. With `edges`, a multi-word entity with
    loose edges (`loose_edge_trim`) is flagged too, suggesting the trimmed
    span with the same label; with `collocations`, a common word the corpus
    capitalizes beside a name is part of it (`CollocationStats`); with
    `title_case`, the entities of sentences in title case are judged too, by
    the common words alone (their unlabelled runs are not: a heading's
    capitalized words are not names for that)."""
    samples = evidence.samples
    docs = evidence.docs_by_position()
    counts = {"capital_starts": capital_starts, "label_votes": label_votes,
              "casing": lambda ev: CasingStats.from_sentences(words_in(ev))}
    if collocations:
        counts["collocations"] = lambda ev: CollocationStats.from_sentences(words_in(ev))
    _, _, stats, *more = evidence.counts(counts)  # asked together: a cleaning in batches counts them in one pass
    words_of = words_in(evidence)
    marks = Marks.empty(len(samples))
    if not names_capitalized(evidence):
        return Suspicion(marks.positive, marks.negative, marks.score,
                         details={"confidence": confidence, "names_capitalized": False},
                         warnings=["most distant entities do not start with a capital: this corpus does not mark "
                                   "names by case, so the name structure flags nothing"], abstained=True)
    pairs = more[0] if collocations else None
    judge = StructureJudge(evidence, stats.common_words(confidence), pairs, corpus_labels(evidence),
                           positives, negatives, edges, title_case)
    by_doc: Dict[int, List[int]] = {}
    for row in numpy.nonzero(samples.positive & samples.candidates)[0]:
        by_doc.setdefault(int(samples.doc[row]), []).append(int(row))
    for p, words in enumerate(words_of):
        judge.sentence(p, docs[p], words, by_doc.get(p, []), marks)
    warnings = []
    if stats.sentences_with_case < stats.sentences / 2:
        warnings.append(f"only {stats.sentences_with_case:,} of {stats.sentences:,} sentences carry case "
                        "information: the name structure says little about this corpus")
    return Suspicion(
        positive=marks.positive, negative=marks.negative, score=marks.score,
        proposals=Proposals.from_rows(marks.proposals),
        details={"confidence": confidence, **marks.counts, "sentences": stats.sentences,
                 "sentences_with_case_information": stats.sentences_with_case},
        warnings=warnings, summed=KINDS,
    )


@registry.misc("spacy-dynclean.name_structure.v3")
def name_structure_v3(confidence: float = 0.9, positives: bool = True, negatives: bool = True,
                      edges: bool = True, collocations: bool = True, title_case: bool = True) -> Detector:
    """As v2, and with `title_case` also judges the distant entities of
    sentences in title case (result lists, team sheets, headings), where the
    capitals say nothing but the corpus's common words still tell the names:
    "Dmitry" PER in "-- Dmitry Solovyov , Moscow Newsroom" is a partial match.
    Unlabelled runs there are not flagged. With `title_case` off, v2 exactly."""
    check_range("confidence", confidence, 0.5, 1)
    return partial(name_structure_suspicion, confidence=confidence, positives=bool(positives),
                   negatives=bool(negatives), edges=bool(edges), collocations=bool(collocations),
                   title_case=bool(title_case))


