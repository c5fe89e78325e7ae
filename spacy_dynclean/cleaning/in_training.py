"""One-run cleaning inside `spacy train`: the recording component records the
first `after_epochs` epochs, the cleaning config's detectors, decision and
strategy run on those dynamics in memory (the dev evidence from the model of
that epoch, where a dev set is given), the corrected corpus, its report and
the resolved cleaning config are written, and the component trains on the
corrected labels for the rest of the configured epochs.

    [training.before_update]
    @callbacks = "spacy-dynclean.clean_in_training.v1"
    cleaning_config = "combined"
    after_epochs = 5
    train = ${paths.train}
    dev = ${paths.dev}
    output = ${paths.cleaned}
    dynamics_dir = ${paths.dynamics}

It is the cleaning run's fourth client (`clean`, `review` and `apply-review`
are the others): the same `Cleaning`, given evidence already in memory.
Only the span component's targets change: another trainable component of the
same pipeline that reads the corpus's labels keeps reading the distant ones.
"""
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from spacy.language import Language
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Config
from wasabi import msg

from spacy_dynclean.cleaning.run import CleanFiles, Cleaning
from spacy_dynclean.convert import read_docbin
from spacy_dynclean.evidence.bundle import Evidence
from spacy_dynclean.evidence.heldout import FormEvidence, collect_evidence
from spacy_dynclean.outputs import Outputs
from spacy_dynclean.recording.callbacks import RecordDynamics, recording_pipes
from spacy_dynclean.recording.component import DynCleanNER
from spacy_dynclean.recording.samples import doc_id
from spacy_dynclean.util import DynCleanError, PathLike


class CleanInTraining(RecordDynamics):
    """`before_update` callback: records like `record_dynamics` and, at the
    first step after `after_epochs` recorded epochs, cleans the corpus and
    hands the corrected labels to the component."""

    def __init__(self, cleaning: Cleaning, *, after_epochs: int, train: Path, dev: Optional[Path], output: Path,
                 dynamics_dir: Optional[Path], restart: bool = False) -> None:
        super().__init__(dynamics_dir, in_memory=True)
        self.cleaning = cleaning
        self.after_epochs = after_epochs
        self.restart = restart
        self.train, self.dev, self.output = train, dev, output
        self.done = False

    def __call__(self, nlp: Language, info: Dict[str, Any]) -> None:
        if self.done:
            return
        if not self.started:
            self.check_training(nlp)
        super().__call__(nlp, info)
        pipes = recording_pipes(nlp)
        if len(pipes[0].recorder.epochs if pipes[0].recorder else []) >= self.after_epochs:
            self.clean(nlp, pipes[0])
            self.done = True

    def check_training(self, nlp: Language) -> None:
        """Refuse what one-run cleaning cannot do, before the first step."""
        pipes = recording_pipes(nlp)
        if len(pipes) != 1:
            raise DynCleanError(f"clean_in_training: the pipeline needs one dynclean_ner component, not {len(pipes)}")
        if pipes[0].cfg["threshold_samples"]:
            raise DynCleanError("clean_in_training: the component records threshold samples; one-run cleaning "
                                "reads a run without them (set components.dynclean_ner.threshold_samples false)")
        max_epochs = int(nlp.config.get("training", {}).get("max_epochs", 0) or 0)
        if 0 < max_epochs <= self.after_epochs:
            raise DynCleanError(f"clean_in_training: after_epochs = {self.after_epochs} leaves no epoch to train "
                                f"on the corrected corpus (training.max_epochs = {max_epochs})")

    def reads_heldout(self) -> bool:
        """Whether a detector the decision reads is a held-out one (its section names `heldout_forms`)."""
        sections = Config().from_str(self.cleaning.resolved.text, interpolate=False)["detectors"]
        return any("heldout_forms" in json.dumps(sections.get(name, {})) for name in self.cleaning.decision.detectors)

    def heldout(self, nlp: Language, spans_key: str) -> Optional[FormEvidence]:
        """The dev evidence of the model as it is now, where a dev set is
        given and the cleaning config reads it."""
        if self.dev is None:
            return None
        forms = collect_evidence(nlp, read_docbin(self.dev, Vocab()), spans_key=spans_key)
        forms.meta = {"model": f"the training's model after {self.after_epochs} epochs", "dev": str(self.dev)}
        return forms

    def clean(self, nlp: Language, pipe: DynCleanNER) -> None:
        """Clean the corpus on the recorded epochs; write it; train on it from here on."""
        start = time.time()
        assert pipe.recorder is not None
        dynamics = pipe.recorder.to_dynamics()
        msg.info(f"clean_in_training: cleaning {self.train} on {dynamics.n_epochs} recorded epochs")
        docs = read_docbin(self.train, Vocab())
        cleaning = self.cleaning
        cleaning.started = start
        heldout = self.heldout(nlp, dynamics.spans_key) if self.reads_heldout() else None
        cleaning.load(Evidence.assemble(
            self.train, docs, dynamics=dynamics, heldout=heldout,
            paths={**cleaning.resolved.paths, "corpus": str(self.train),
                   "dynamics": str(self.output_dir) if self.output_dir else "(in memory)",
                   "heldout": f"(dev evidence of {self.dev})" if heldout is not None else None},
            spans_key=dynamics.spans_key,
            ignore_key=dynamics.ignore_key,
        ))
        files = CleanFiles.of(self.output)
        with Outputs(files.all, [self.train, self.dev, *cleaning.inputs]) as outputs:
            cleaned = cleaning.apply()
            cleaning.write(outputs, files)
            outputs.commit()
        kept = {doc_id(d) for d in cleaned.docs}
        pipe.replace_targets(cleaned.docs, [d for d in docs if doc_id(d) not in kept])
        if self.restart:
            restart_weights(nlp)
        stats = cleaned.stats
        msg.good(f"clean_in_training: {stats.docs_out:,} docs written to {files.corpus} ({stats.docs_dropped} "
                 f"dropped); training goes on on them ({time.time() - start:.1f}s)")
        assert cleaning.flags is not None
        for w in cleaning.flags.warnings:
            msg.warn(w)


def restart_weights(nlp: Language) -> None:
    """Initialize the weights of every trainable, unfrozen component anew
    (the optimizer's running averages go on)."""
    frozen = set(nlp.config.get("training", {}).get("frozen_components", []))
    for name, proc in nlp.pipeline:
        if name not in frozen and getattr(proc, "is_trainable", False) and hasattr(proc, "model"):
            proc.model.initialize()
    msg.info("clean_in_training: weights initialized anew")


def make_clean_in_training(cleaning_config: str, *, after_epochs: int, train: PathLike, output: PathLike,
                           dev: Optional[PathLike] = None, dynamics_dir: Optional[PathLike] = None,
                           overrides: Optional[Dict[str, Any]] = None, restart: bool = False) -> CleanInTraining:
    """The callback, with the cleaning config resolved now: a bad config
    fails before the training starts."""
    if isinstance(after_epochs, bool) or not isinstance(after_epochs, int) or after_epochs < 1:
        raise DynCleanError(f"clean_in_training: after_epochs must be a whole number >= 1, not {after_epochs!r}")
    for name, value, path in (("train", train, "paths.train"), ("output", output, "paths.cleaned")):
        if not value:
            raise DynCleanError(f"clean_in_training: {name} is empty (set {path})")
    if not Path(train).exists():
        raise DynCleanError(f"{train}: no such training corpus (clean_in_training.train)")
    if dev and not Path(dev).exists():
        raise DynCleanError(f"{dev}: no such dev corpus (clean_in_training.dev)")
    given = {"paths.corpus": str(train), **(overrides or {})}
    cleaning = Cleaning.from_config(cleaning_config, given)
    if cleaning.resolved.paths.get("threshold_dynamics") or cleaning.resolved.paths.get("folds"):
        raise DynCleanError("clean_in_training: the cleaning config names a threshold run or out-of-fold "
                            "predictions, which one run does not make")
    return CleanInTraining(cleaning, after_epochs=after_epochs, train=Path(train), dev=Path(dev) if dev else None,
                           output=Path(output), dynamics_dir=Path(dynamics_dir) if dynamics_dir else None,
                           restart=bool(restart))


@registry.callbacks("spacy-dynclean.clean_in_training.v1")
def create_clean_in_training(cleaning_config: str = "combined", after_epochs: int = 5,
                             train: Optional[str] = None, output: Optional[str] = None, dev: Optional[str] = None,
                             dynamics_dir: Optional[str] = None, overrides: Dict[str, Any] = {},
                             restart: bool = False) -> Callable[[Language, Dict[str, Any]], None]:
    """One-run cleaning as `[training.before_update]` (with the
    `spacy-dynclean.DynamicsLogger.v1` logger): record `after_epochs` epochs,
    clean `train` with `cleaning_config` (a preset name or a path; `overrides`
    as `--section.key` pairs), write the corrected corpus to `output` with
    its report and resolved config beside it, and train on it. `dev`: a gold
    dev set for the dev evidence, where the cleaning config reads it;
    `restart`: train the corrected corpus from new weights instead of going
    on from the recorded epochs' weights."""
    return make_clean_in_training(cleaning_config, after_epochs=after_epochs, train=train or "",
                                  output=output or "", dev=dev, dynamics_dir=dynamics_dir, overrides=dict(overrides),
                                  restart=restart)
