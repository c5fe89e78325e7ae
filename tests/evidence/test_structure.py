import pytest

from spacy_dynclean.evidence.structure import (
    CasingStats, CollocationStats, extend, free_runs, has_case_information, is_title_case, name_mask, prob_majority,
)


def test_prob_majority_is_the_beta_tail():
    assert prob_majority(0, 0) == pytest.approx(0.5)
    assert prob_majority(2, 2) == pytest.approx(7 / 8)  # Beta(3, 1): 1 - 0.5**3
    assert prob_majority(3, 3) == pytest.approx(15 / 16)
    assert prob_majority(1, 2) == pytest.approx(0.5)
    assert prob_majority(900, 1000) > 0.999 and prob_majority(100, 1000) < 0.001  # normal approximation


def test_case_information_of_a_sentence():
    assert has_case_information("Anna met the mayor of Paris .".split())
    assert not has_case_information("SOCCER - JAPAN GET LUCKY WIN".split())  # capitals
    assert not has_case_information("Rare Hendrix Song Draft Sells For Almost".split())  # title case
    assert not has_case_information(["1996-08-30"])  # no word


def test_title_case_sentences():
    assert is_title_case("Goalkeepers - Marco Pascolo ( Cagliari )".split())
    assert not is_title_case("SOCCER - JAPAN GET LUCKY WIN".split())  # capitals: nothing to read
    assert not is_title_case("Anna met the mayor of Paris .".split())  # case information
    assert not is_title_case("Anna Berg".split())  # too short to tell


SENTENCES = [s.split() for s in (
    "the mayor met the press", "the president spoke", "He said the new plan works",
    "he left early", "The New York office of Acme opened", "the press in New York waited",
    "Anna Berg visited Acme in New York", "he met President Lee", "the president and the mayor met",
    "the president said so", "he said nothing",
)]


def test_common_words_from_the_corpus():
    stats = CasingStats.from_sentences(SENTENCES)
    common = stats.common_words(0.9)
    assert "The" in common and "He" in common  # lower case in most places
    assert "Anna" not in common and "York" not in common  # never lower case
    # "president": 3 times lower case, once capitalized: P(mostly lower) = 0.81
    assert "President" not in common and "President" in stats.common_words(0.8)
    # "new": once lower case, twice capitalized mid-sentence: not common
    assert "New" not in common


def test_name_runs_and_extension():
    stats = CasingStats.from_sentences(SENTENCES)
    common = stats.common_words(0.9)
    words = "the press in New York waited".split()
    is_name = name_mask(words, common)
    assert is_name == [False, False, False, True, True, False]
    assert extend(4, 5, is_name, [False] * 6) == (3, 5)  # "York" -> "New York"
    assert extend(4, 5, is_name, [False, False, False, True, False, False]) == (4, 5)  # "New" is another entity's
    assert free_runs(is_name, [False] * 6) == [(3, 5)]
    assert free_runs(is_name, [False, False, False, False, True, False]) == []  # touches an entity
    assert name_mask("SOCCER - JAPAN WIN".split(), common) == [False] * 4


# "old" is a common word, but before "Trafford" the corpus capitalizes it every time
TRAFFORD = [s.split() for s in (
    "the old man left", "an old friend came", "the old house stood", "the old road", "old habits stay",
    "my old car", "the old town", "an old song", "the old days", "so old", "an old map", "the old bridge",
    "they won at Old Trafford today", "fans at Old Trafford sang", "the crowd at Old Trafford cheered",
    "we met an old Trafford fan",  # a lower-case "old" before "Trafford": the pair is 3 to 1
    "he saw the old Acme plant", "he saw Old Acme once",
)]


def test_collocations_join_a_common_word_to_a_name():
    stats = CasingStats.from_sentences(TRAFFORD)
    common = stats.common_words(0.9)
    pairs = CollocationStats.from_sentences(TRAFFORD)
    assert "Old" in common
    assert pairs.capitalized[("before", "old", "Trafford")] == 3 and pairs.lower[("before", "old", "Trafford")] == 1
    words = "fans at Old Trafford sang".split()
    assert name_mask(words, common) == [False, False, False, True, False]
    # 3 of 4 capitalized: P(mostly capitalized) = P(Binomial(5, 1/2) <= 3) = 0.8125
    assert pairs.p_name(("before", "old", "Trafford")) == pytest.approx(26 / 32)
    assert name_mask(words, stats.common_words(0.8), pairs) == [False, False, True, True, False]
    assert name_mask(words, common, pairs) == [False, False, False, True, False]  # not sure enough at 0.9
    # one capitalized "Old" before "Acme" is no evidence
    assert name_mask("he saw Old Acme once".split(), stats.common_words(0.8), pairs)[2] is False
