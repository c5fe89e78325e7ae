import json

import spacy

from spacy_dynclean.recording.callbacks import drop_best_from_before_cleaning, keep_best_after_cleaning


def checkpoint(out, score):
    """What spaCy leaves after an evaluation: model-last saved, its path and score in `info`."""
    last = out / "model-last"
    last.mkdir(parents=True, exist_ok=True)
    (last / "meta.json").write_text(json.dumps({"score": score}))
    return {"score": score, "output_path": str(last)}


def best_score(out):
    return json.loads((out / "model-best" / "meta.json").read_text())["score"]


def test_model_best_is_chosen_among_checkpoints_after_the_cleaning(tmp_path):
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("dynclean_ner")
    best = []
    keep_best_after_cleaning(nlp, checkpoint(tmp_path, 0.9), best)
    assert not (tmp_path / "model-best").exists() and best == []  # before the cleaning: spaCy's choice
    (tmp_path / "model-best").mkdir()
    (tmp_path / "model-best" / "meta.json").write_text(json.dumps({"score": 0.9}))  # spaCy's best so far
    pipe.targets_replaced = True
    keep_best_after_cleaning(nlp, checkpoint(tmp_path, 0.5), best)
    assert best_score(tmp_path) == 0.5  # below the distant-label checkpoint, yet the best trained on clean labels
    keep_best_after_cleaning(nlp, checkpoint(tmp_path, 0.4), best)
    assert best_score(tmp_path) == 0.5
    keep_best_after_cleaning(nlp, checkpoint(tmp_path, 0.6), best)
    assert best_score(tmp_path) == 0.6 and best == [0.6]
    keep_best_after_cleaning(nlp, {"score": None, "output_path": None}, best)  # a step without evaluation
    assert best_score(tmp_path) == 0.6


def test_a_model_best_from_before_the_cleaning_is_not_left_at_the_end(tmp_path, capsys):
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("dynclean_ner")
    last = checkpoint(tmp_path, 0.9)["output_path"]
    (tmp_path / "model-best").mkdir()
    drop_best_from_before_cleaning(nlp, last, [])  # no cleaning happened: spaCy's model-best stays
    assert (tmp_path / "model-best").exists()
    pipe.targets_replaced = True
    drop_best_from_before_cleaning(nlp, last, [0.5])  # a checkpoint after the cleaning was kept
    assert (tmp_path / "model-best").exists()
    drop_best_from_before_cleaning(nlp, last, [])  # cleaned, but no evaluation after it
    assert not (tmp_path / "model-best").exists() and (tmp_path / "model-last").exists()
    assert "no evaluation came after the cleaning" in capsys.readouterr().out
