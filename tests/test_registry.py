"""Every registered name resolves through the installed entry points."""
import configparser
from pathlib import Path

import pytest
import spacy
from spacy.util import registry

SETUP_CFG = Path(__file__).parent.parent / "setup.cfg"


def entry_points():
    cfg = configparser.ConfigParser()
    cfg.read(SETUP_CFG)
    found = []
    for group, text in cfg["options.entry_points"].items():
        if not group.startswith("spacy_"):
            continue
        for line in text.strip().splitlines():
            name, target = (x.strip() for x in line.split("="))
            found.append((group, name, target))
    return found


def test_all_names_in_our_namespace():
    names = entry_points()
    bad = [name for _, name, _ in names if not (name == "dynclean_ner" or name.startswith("spacy-dynclean."))]
    assert bad == []
    # every part the presets and the recording configs use is registered
    assert {"dynclean_ner", "spacy-dynclean.record_dynamics.v1", "spacy-dynclean.decision.v2",
            "spacy-dynclean.correct.v1", "spacy-dynclean.name_structure.v3", "spacy-dynclean.learned_negatives.v1",
            "spacy-dynclean.heldout_forms.v2", "spacy-dynclean.per_form.v1"} <= {name for _, name, _ in names}


def test_old_versions_live_in_legacy():
    """spacy-legacy's rule: an old version keeps its name, apart from the live parts."""
    targets = {name: target for _, name, target in entry_points()}
    for name in ("spacy-dynclean.name_structure.v1", "spacy-dynclean.name_structure.v2",
                 "spacy-dynclean.heldout_forms.v1", "spacy-dynclean.masks_as_negatives.v1"):
        assert targets[name].startswith("spacy_dynclean.legacy:"), name


@pytest.mark.parametrize("group,name,target", entry_points())
def test_registered_name_resolves(group, name, target):
    import importlib

    module, attr = target.split(":")
    func = getattr(importlib.import_module(module), attr)
    if group == "spacy_factories":
        nlp = spacy.blank("en")
        pipe = nlp.add_pipe(name)
        assert type(pipe).__name__ == "DynCleanNER"
        return
    reg = {"spacy_callbacks": registry.callbacks, "spacy_loggers": registry.loggers,
           "spacy_misc": registry.misc, "spacy_architectures": registry.architectures,
           "spacy_augmenters": registry.augmenters}[group]
    assert reg.get(name) is func
