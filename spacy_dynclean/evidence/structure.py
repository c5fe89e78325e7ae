"""Evidence from the structure of the text: which capitalized words are names.

In text with case information, a name is a run of capitalized words; a
capitalized word that the same corpus mostly writes in lower case ("The",
"He", "President" in "President Clinton") is a common word that happens to
start a sentence or a title. The corpus itself is the evidence, word by word:
a word counts as *common* when the posterior probability (uniform prior) that
most of its non-initial occurrences are lower-case is at least `confidence`,
so a word seen once or twice decides nothing. Sentences without case
information (headlines in capitals, lower-cased text) are left alone, and so
is a corpus without it: then no word is a name and nothing is flagged.

Used by the `spacy-dynclean.name_structure.v1` detector: a distant entity
strictly inside a longer name run is probably a partial match ("York" in
"New York"), one made of common words is probably spurious ("The" as MISC),
and a name run no distant entity touches is probably a missed entity.
`name_structure.v2` also reads word pairs (`CollocationStats`): a common
word the corpus capitalizes beside a name every time ("Old Trafford") is part
of it. `name_structure.v3` also reads sentences in title case (result
lists, team sheets, headings: every word capitalized), where the corpus's
common words, not the capitals, tell the names: "Dmitry Solovyov" in
"-- Dmitry Solovyov , Moscow Newsroom".
"""
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple


def is_capitalized(word: str) -> bool:
    return word[:1].isupper()


def is_alpha_word(word: str) -> bool:
    return word[:1].isalpha()


def _words_of_two_letters(words: Sequence[str]) -> List[str]:
    return [w for w in words if w[:1].isalpha() and len(w) > 1]


def _mostly_capitals(alpha: Sequence[str]) -> bool:
    return sum(w.isupper() for w in alpha) > len(alpha) / 2


def _title_case(alpha: Sequence[str]) -> bool:
    return len(alpha) >= 3 and all(is_capitalized(w) for w in alpha) and not _mostly_capitals(alpha)


def has_case_information(words: Sequence[str]) -> bool:
    """A sentence carries case information unless most of its words (of two
    letters or more) are in capitals, or it is in title case (three or more
    such words, every one capitalized): then a capital says nothing."""
    alpha = _words_of_two_letters(words)
    return bool(alpha) and not _mostly_capitals(alpha) and not _title_case(alpha)


def is_title_case(words: Sequence[str]) -> bool:
    """A sentence in title case: three or more words of two letters or more,
    every one capitalized, most not in capitals (lists of names, headings).
    A capital says nothing there, but a word the corpus writes in lower case
    elsewhere is still a common word."""
    return _title_case(_words_of_two_letters(words))


def prob_majority(k: int, n: int) -> float:
    """P(p > 1/2 | k successes in n trials) under a uniform prior: the
    Beta(k + 1, n - k + 1) mass above one half, i.e. P(Binomial(n + 1, 1/2) <= k)."""
    m = n + 1
    if m > 400:  # normal approximation, with continuity correction
        z = (k + 0.5 - m / 2) / math.sqrt(m / 4)
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))
    log_half = m * math.log(0.5)
    total = 0.0
    for i in range(k + 1):
        total += math.exp(math.lgamma(m + 1) - math.lgamma(i + 1) - math.lgamma(m - i + 1) + log_half)
    return min(total, 1.0)


def informative_case(words: Sequence[str], i: int, informative: bool) -> Optional[str]:
    """What the casing of word `i` says: "lower" (written in lower case,
    anywhere), "capitalized" (capitalized where case is informative: not
    sentence-initial, in a sentence with case information, not in capitals),
    or None (nothing)."""
    w = words[i]
    if w.islower():
        return "lower"
    if informative and i > 0 and is_capitalized(w) and not w.isupper():
        return "capitalized"
    return None


@dataclass
class CasingStats:
    """Per word (lower-cased): occurrences written in lower case, and
    occurrences capitalized where case is informative (not sentence-initial,
    in a sentence with case information)."""

    lower: Counter = field(default_factory=Counter)
    capitalized: Counter = field(default_factory=Counter)
    sentences: int = 0
    sentences_with_case: int = 0

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sequence[str]]) -> "CasingStats":
        stats = cls()
        for words in sentences:
            stats.sentences += 1
            informative = has_case_information(words)
            stats.sentences_with_case += informative
            for i, w in enumerate(words):
                case = informative_case(words, i, informative)
                if case is not None:
                    getattr(stats, case)[w.lower()] += 1
        return stats

    def __iadd__(self, other: "CasingStats") -> "CasingStats":
        """Add another part of the corpus's counts."""
        self.lower.update(other.lower)
        self.capitalized.update(other.capitalized)
        self.sentences += other.sentences
        self.sentences_with_case += other.sentences_with_case
        return self

    def p_common(self, word: str) -> float:
        """Posterior probability that `word` is mostly written in lower case."""
        low = word.lower()
        k = self.lower[low]
        return prob_majority(k, k + self.capitalized[low])

    def common_words(self, confidence: float) -> "CommonWords":
        return CommonWords(self, confidence)


@dataclass
class CollocationStats:
    """Per word beside a neighbour: occurrences capitalized where case is
    informative, and occurrences in lower case. Keys ("before", word, next)
    and ("after", previous, word), the word lower-cased and the neighbour as
    written: "Old" before "Trafford" is capitalized every time though "old"
    is a common word, so there it is part of a name."""

    capitalized: Counter = field(default_factory=Counter)
    lower: Counter = field(default_factory=Counter)

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sequence[str]]) -> "CollocationStats":
        stats = cls()
        for words in sentences:
            informative = has_case_information(words)
            for i, w in enumerate(words):
                case = informative_case(words, i, informative)
                if case is None:
                    continue
                counts, low = getattr(stats, case), w.lower()
                if i + 1 < len(words):
                    counts[("before", low, words[i + 1])] += 1
                if i > 0:
                    counts[("after", words[i - 1], low)] += 1
        return stats

    def __iadd__(self, other: "CollocationStats") -> "CollocationStats":
        """Add another part of the corpus's counts."""
        self.capitalized.update(other.capitalized)
        self.lower.update(other.lower)
        return self

    def p_name(self, key: Tuple[str, str, str]) -> float:
        """Posterior probability that the word is mostly capitalized beside this neighbour."""
        k = self.capitalized[key]
        return prob_majority(k, k + self.lower[key])


class CommonWords:
    """Membership test with a cache: is a word common at `confidence`?"""

    def __init__(self, stats: CasingStats, confidence: float) -> None:
        self.stats = stats
        self.confidence = confidence
        self._cache: Dict[str, bool] = {}

    def __contains__(self, word: str) -> bool:
        low = word.lower()
        if low not in self._cache:
            self._cache[low] = self.stats.lower[low] > 0 and self.stats.p_common(low) >= self.confidence
        return self._cache[low]


def name_mask(words: Sequence[str], common: CommonWords,
              collocations: Optional[CollocationStats] = None, title_case: bool = False) -> List[bool]:
    """Per word: capitalized and not a common word, in a sentence with case
    information, or with `title_case` also in a sentence in title case (all
    False otherwise). With `collocations`, also a capitalized common word
    beside a name that the corpus capitalizes beside that word."""
    if not has_case_information(words) and not (title_case and is_title_case(words)):
        return [False] * len(words)
    mask = [is_alpha_word(w) and is_capitalized(w) and w not in common for w in words]
    if collocations is not None:
        # a capitalized common word joins a neighbouring name where the corpus capitalizes it beside that
        # neighbour (at posterior `common.confidence`): "Old Trafford", "New England"; repeated for chains
        changed = True
        while changed:
            changed = False
            for i, w in enumerate(words):
                if mask[i] or not (is_alpha_word(w) and is_capitalized(w)):
                    continue
                low = w.lower()
                if (i + 1 < len(words) and mask[i + 1]
                        and collocations.p_name(("before", low, words[i + 1])) >= common.confidence) or \
                        (i > 0 and mask[i - 1]
                         and collocations.p_name(("after", words[i - 1], low)) >= common.confidence):
                    mask[i] = changed = True
    return mask


def extend(start: int, end: int, is_name: Sequence[bool], blocked: Sequence[bool]) -> Tuple[int, int]:
    """Grow [start, end) over neighbouring name words that no other entity holds."""
    while start > 0 and is_name[start - 1] and not blocked[start - 1]:
        start -= 1
    while end < len(is_name) and is_name[end] and not blocked[end]:
        end += 1
    return start, end


def free_runs(is_name: Sequence[bool], covered: Sequence[bool]) -> List[Tuple[int, int]]:
    """Maximal runs of name words that share no token with a distant entity
    and touch none (a run beside an entity would be the entity's boundary)."""
    runs: List[Tuple[int, int]] = []
    i, n = 0, len(is_name)
    while i < n:
        if is_name[i] and not covered[i]:
            j = i
            while j < n and is_name[j] and not covered[j]:
                j += 1
            touches = (i > 0 and covered[i - 1]) or (j < n and covered[j])
            if not touches:
                runs.append((i, j))
            i = j
        else:
            i += 1
    return runs
