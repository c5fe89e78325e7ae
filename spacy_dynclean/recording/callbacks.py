"""Training hooks that record dynamics inside `spacy train`.

`[training.before_update]` learns epoch boundaries (it runs before every step
with the epoch number); the logger wrapper's `finalize` closes the last epoch,
which no `before_update` call follows.
"""
import shutil
import sys
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

from spacy.language import Language
from spacy.util import registry
from wasabi import msg

from spacy_dynclean.recording.component import DynCleanNER
from spacy_dynclean.recording.training import check_writable_dir
from spacy_dynclean.util import DynCleanError

LOGGER_NAME = "spacy-dynclean.DynamicsLogger.v1"


def recording_pipes(nlp: Language) -> List[DynCleanNER]:
    return [pipe for _, pipe in nlp.pipeline if isinstance(pipe, DynCleanNER)]


def close_epoch(nlp: Language, pipe: DynCleanNER) -> None:
    """Finish the recorder's current epoch: run the eval pass in "epoch" mode,
    then store and write the column."""
    rec = pipe.recorder
    if rec is None or rec.current_epoch is None:
        return
    if rec.mode == "epoch":
        pipe.record_epoch_pass(nlp)
    rec.complete_epoch()
    where = f"written to {rec.output_dir}" if rec.output_dir else "kept in memory"
    msg.good(f"{pipe.name}: dynamics of epoch {rec.epochs[-1]} {where}")


class RecordDynamics:
    """`before_update` callback: starts recording on every `dynclean_ner`
    pipe at the first step and closes an epoch when the next one begins."""

    def __init__(self, output_dir: Optional[Path], *, in_memory: bool = False) -> None:
        self.output_dir = Path(output_dir) if output_dir else None
        self.enabled = self.output_dir is not None or in_memory  # in memory: the one-run cleaning's recording
        self.started = False

    def __call__(self, nlp: Language, info: Dict[str, Any]) -> None:
        if not self.enabled:
            return
        epoch = int(info["epoch"])
        if not self.started:
            self._start(nlp)
        for pipe in recording_pipes(nlp):
            rec = pipe.recorder
            if rec is None:
                continue
            if rec.current_epoch is None:
                rec.start_epoch(epoch)
            elif epoch != rec.current_epoch:
                close_epoch(nlp, pipe)
                rec.start_epoch(epoch)
            rec.steps_in_epoch += 1

    def _start(self, nlp: Language) -> None:
        pipes = recording_pipes(nlp)
        if not pipes:
            raise DynCleanError("record_dynamics: the pipeline has no dynclean_ner component")
        logger = nlp.config.get("training", {}).get("logger", {}).get("@loggers")
        if logger != LOGGER_NAME:
            msg.warn(
                f"record_dynamics: [training.logger] is not {LOGGER_NAME}, "
                "so the last epoch's dynamics will not be written"
            )
        for pipe in pipes:
            out = None
            if self.output_dir is not None:
                out = self.output_dir if len(pipes) == 1 else self.output_dir / pipe.name
            pipe.start_recording(str(out) if out is not None else None)
            msg.info(f"{pipe.name}: recording dynamics ({pipe.cfg['dynamics_mode']} mode) "
                     f"of {len(pipe.index or [])} span samples to {out or 'memory'}")
        self.started = True


def finish_recording(nlp: Language) -> None:
    """Close the last epoch of every recording pipe. In "update" mode an
    epoch that stopped part-way (max_steps, patience) is dropped, as not
    every sample has a margin for it."""
    for pipe in recording_pipes(nlp):
        rec = pipe.recorder
        if rec is None or rec.current_epoch is None or rec.steps_in_epoch == 0:
            continue
        if rec.mode == "update" and rec.missing():
            msg.warn(
                f"{pipe.name}: epoch {rec.current_epoch} ended part-way "
                f"({rec.missing()} samples without a margin): not recorded"
            )
            rec.discard_epoch()
        else:
            close_epoch(nlp, pipe)
        rec.current_epoch = None
        pipe.recorder = None


@registry.callbacks("spacy-dynclean.record_dynamics.v1")
def create_record_dynamics(output_dir: Optional[Path] = None) -> Callable[[Language, Dict[str, Any]], None]:
    """Record dynamics of `dynclean_ner` pipes into `output_dir` (recording
    is off when it is null). Use from `[training.before_update]` together
    with the `spacy-dynclean.DynamicsLogger.v1` logger."""
    if output_dir is not None and Path(output_dir).suffix == ".npz":
        raise DynCleanError(f"record_dynamics: output_dir {output_dir} must be a directory")
    if output_dir is not None:
        check_writable_dir(output_dir, "dynamics folder (record_dynamics.output_dir)")
    return RecordDynamics(output_dir)


def cleaned_in_training(nlp: Language) -> bool:
    """A one-run cleaning has replaced the training targets of this run."""
    return any(pipe.targets_replaced for pipe in recording_pipes(nlp))


def keep_best_after_cleaning(nlp: Language, info: Dict[str, Any], best: List[float]) -> None:
    """Once a one-run cleaning has replaced the targets, model-best is the
    best checkpoint trained on the corrected labels: spaCy's own choice also
    ranges over the checkpoints before the cleaning, which learned the
    distant labels. Called after spaCy has saved the step's model-last."""
    if not cleaned_in_training(nlp):
        return
    score, last = info.get("score"), info.get("output_path")
    if score is None or last is None or (best and score < best[0]):
        return
    best[:] = [float(score)]
    target = Path(last).parent / "model-best"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(last, target)


def drop_best_from_before_cleaning(nlp: Language, last: Optional[str], best: List[float]) -> None:
    """At the end of a one-run training in which no evaluation came after the
    cleaning, model-best is still a checkpoint trained on the distant labels:
    remove it, with a warning, rather than let it pass for the cleaned model
    (spaCy saves model-last, trained on the corrected labels, right after)."""
    if best or last is None or not cleaned_in_training(nlp):
        return
    target = Path(last).parent / "model-best"
    if target.exists():
        shutil.rmtree(target)
    msg.warn(f"no evaluation came after the cleaning, so no checkpoint trained on the corrected labels was scored: "
             f"{target} (trained on the distant labels) was removed; model-last is the cleaned model. Lower "
             "training.eval_frequency or train more epochs after the cleaning to have a model-best")


def dynamics_logger(inner: Callable) -> Callable:
    """Wrap a training logger so that its `finalize` also writes the last
    epoch's dynamics, and after a one-run cleaning model-best is chosen among
    the checkpoints trained on the corrected labels."""

    def setup(nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr) -> Tuple[Callable, Callable]:
        inner_log_step, inner_finalize = inner(nlp, stdout, stderr)
        best: List[float] = []
        last: List[str] = []  # the model-last folder of spaCy's checkpoints, once it has saved one

        def log_step(info: Optional[Dict[str, Any]]) -> None:
            inner_log_step(info)
            if info is not None:
                keep_best_after_cleaning(nlp, info, best)
                if info.get("output_path"):
                    last[:] = [str(info["output_path"])]

        def finalize() -> None:
            try:
                finish_recording(nlp)
                drop_best_from_before_cleaning(nlp, last[0] if last else None, best)
            finally:
                inner_finalize()

        return log_step, finalize

    return setup


@registry.loggers(LOGGER_NAME)
def create_dynamics_logger(logger: Optional[Callable] = None) -> Callable:
    """`[training.logger]` that writes the last epoch's dynamics at the end of
    training and otherwise logs like `logger` (default: spaCy's console logger)."""
    if logger is None:
        logger = registry.loggers.get("spacy.ConsoleLogger.v1")(progress_bar=False)
    return dynamics_logger(logger)
