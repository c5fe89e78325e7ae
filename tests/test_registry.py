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
    assert len(names) >= 4
    for group, name, _ in names:
        assert name == "dynclean_ner" or name.startswith("spacy-dynclean.")


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
