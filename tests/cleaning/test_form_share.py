"""Labelled here, unlabelled there (form_share.v1) on tiny in-memory corpora."""
import pytest

from spacy_dynclean.cleaning.contract import Suspicion
from spacy_dynclean.cleaning.decision import decision_v2
from spacy_dynclean.cleaning.detectors.form_share import form_share
from spacy_dynclean.cleaning.strategies import correct_strategy
from spacy_dynclean.util import DynCleanError

from .test_learned import evidence_of, flagged_spans, recorded
from ..helpers import docs_of

# lower-cased text: "the" is labelled once and free three times; "oslo" labelled twice, free once;
# "rome" labelled once and never free; "the" inside "the hague" overlaps a distant entity (not free)
RECORDS = [
    {"tokens": ["the", "band", "played"], "entities": [[0, 0, "PER"]]},
    {"tokens": ["the", "man", "saw", "the", "sea"], "entities": []},
    {"tokens": ["anna", "left", "the", "hague"], "entities": [[0, 0, "PER"], [2, 3, "LOC"]]},
    {"tokens": ["oslo", "and", "rome"], "entities": [[0, 0, "LOC"], [2, 2, "LOC"]]},
    {"tokens": ["oslo", "is", "cold"], "entities": [[0, 0, "LOC"]]},
    {"tokens": ["in", "oslo", "the", "end"], "entities": []},
]


def test_flags_a_text_labelled_in_a_minority_of_its_occurrences(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    ev = evidence_of(docs, recorded(docs))
    s = form_share()(ev)
    # "the": 1 labelled + 4 free (the one inside "the hague" is not free): share 0.2 < 0.5
    assert flagged_spans(ev, s.positive) == ["the"]
    assert not s.negative.any() and not s.abstained and len(s.proposals) == 0
    assert s.details["forms_flagged"] == 1
    # oslo: 2 of 3 labelled stays; raising the share flags it too, unless it occurs too rarely to count;
    # a text labelled wherever it occurs (rome, anna) never
    assert flagged_spans(ev, form_share(max_share=0.7)(ev).positive) == ["oslo", "oslo", "the"]
    assert flagged_spans(ev, form_share(max_share=0.7, min_count=4)(ev).positive) == ["the"]
    assert flagged_spans(ev, form_share(max_share=1.0, min_count=1)(ev).positive) == ["oslo", "oslo", "the"]
    assert not form_share(min_count=6)(ev).positive.any()  # "the" has 5 occurrences


def test_what_it_flags_is_masked_not_turned_into_a_non_entity(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    ev = evidence_of(docs, recorded(docs))
    s = form_share()(ev)
    strategy = correct_strategy()
    flags = decision_v2(strategy, positives=["forms"], negatives=[]).flag(ev, {"forms": s})
    band = next(d for d in strategy(ev, flags, {"forms": s}).docs if "band" in d.text)
    assert list(band.ents) == [] and band[0].ent_iob_ == ""  # missing, not O
    assert [(x.start, x.end) for x in band.spans["dynclean_ignored"]] == [(0, 1)]


def test_takes_the_structure_s_distant_entities_only_where_it_abstains(tmp_path):
    docs = docs_of(tmp_path, RECORDS, "ds")
    ev = evidence_of(docs, recorded(docs))
    n = len(ev.samples)
    forms = form_share()(ev)
    speaking = Suspicion.none(n)
    silent = Suspicion.none(n)
    silent.abstained = True
    made = decision_v2(correct_strategy(), positives=["structure"], negatives=[], hand_off={"structure": "forms"})
    assert not made.flag(ev, {"structure": speaking, "forms": forms}).positive.any()
    decided = made.flag(ev, {"structure": silent, "forms": forms})
    assert flagged_spans(ev, decided.positive) == ["the"] and decided.trusted["positives"] == ["forms"]


@pytest.mark.parametrize("kwargs", [{"max_share": 1.5}, {"max_share": -0.1}, {"min_count": 0},
                                    {"min_count": 2.5}, {"min_count": True}])
def test_settings_out_of_range_are_refused(kwargs):
    with pytest.raises(DynCleanError):
        form_share(**kwargs)
