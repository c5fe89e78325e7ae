"""One-run cleaning's settings fail before a training starts, in one line."""
import pytest

from spacy_dynclean.cleaning.in_training import make_clean_in_training
from spacy_dynclean.util import DynCleanError

from ..helpers import RECORDS, docs_of


@pytest.fixture
def train(tmp_path):
    from spacy_dynclean.convert import write_docbin

    path = tmp_path / "train.spacy"
    write_docbin(docs_of(tmp_path, RECORDS, "ds"), path)
    return path


def test_a_good_callback_resolves_the_cleaning_config(tmp_path, train):
    callback = make_clean_in_training("goldfree", after_epochs=2, train=train, output=tmp_path / "c.spacy")
    assert callback.after_epochs == 2 and callback.cleaning.decision.detectors == ["structure", "learned", "forms"]
    assert callback.dev is None and not callback.done


@pytest.mark.parametrize("kwargs,message", [
    ({"after_epochs": 0}, "after_epochs must be a whole number >= 1"),
    ({"after_epochs": True}, "after_epochs must be a whole number >= 1"),
    ({"output": ""}, "output is empty"),
    ({"train": "nope.spacy"}, "nope.spacy: no such training corpus"),
    ({"dev": "nodev.spacy"}, "nodev.spacy: no such dev corpus"),
    ({"cleaning_config": "default"}, "names a threshold run"),
    ({"cleaning_config": "nosuch.cfg"}, "nosuch.cfg: no such cleaning config"),
    ({"overrides": {"decision.positives": ["nobody"]}}, "no detector 'nobody'"),
])
def test_bad_settings_fail_in_one_line(tmp_path, train, kwargs, message):
    settings = {"cleaning_config": "goldfree", "after_epochs": 1, "train": train, "output": tmp_path / "c.spacy",
                **kwargs}
    if settings["cleaning_config"] == "default":
        settings["overrides"] = {"paths.threshold_dynamics": str(tmp_path)}
    with pytest.raises(DynCleanError, match=message):
        make_clean_in_training(settings.pop("cleaning_config"), **settings)
