"""Checks made before a training starts, so that a bad path fails at once
with one line instead of after the first epoch."""
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from wasabi import msg

from spacy_dynclean.outputs import check_outputs
from spacy_dynclean.util import DynCleanError, PathLike, config_error


def check_writable_dir(path: PathLike, what: str) -> None:
    """`path` can be created (or is) a writable folder; nothing is created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DynCleanError(f"{path}: is a file, but the {what} must be a folder")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise DynCleanError(f"{probe}: is a file, so the {what} {path} cannot be created")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise DynCleanError(f"{probe}: not writable, so the {what} {path} cannot be written (check the permissions)")


def count_docs(path: Path, key: str) -> int:
    """The docs of a training DocBin; an empty or unreadable one is an error naming it."""
    from spacy.tokens import DocBin

    try:
        n = len(DocBin().from_disk(path))
    except Exception as e:  # msgpack's and zlib's own errors on a truncated file
        raise DynCleanError(f"{path}: not a readable DocBin (--{key}; {type(e).__name__}): convert it again "
                            "with `python -m spacy_dynclean convert`") from None
    if n == 0:
        raise DynCleanError(f"{path}: holds no docs (--{key})")
    return n


def check_training_paths(overrides: Dict[str, Any], output: Optional[PathLike]) -> None:
    """Inputs of a training exist; its outputs (pipeline folder, dynamics
    folder) are writable and are not, nor lie inside, an input."""
    inputs = [overrides.get(k) for k in ("paths.train", "paths.dev")]
    for key in ("paths.train", "paths.dev"):
        value = overrides.get(key)
        if value is not None and not Path(str(value)).exists():
            raise DynCleanError(f"{value}: no such corpus (--{key})")
        if value is not None and Path(str(value)).is_dir():
            raise DynCleanError(f"{value}: is a folder, not a DocBin (--{key})")
        if value is not None:
            count_docs(Path(str(value)), key)
    outputs = []
    if output is not None:
        check_writable_dir(output, "training output")
        outputs.append(output)
    dynamics = overrides.get("paths.dynamics")
    if dynamics not in (None, ""):
        check_writable_dir(str(dynamics), "dynamics folder")
        outputs.append(str(dynamics))
    check_outputs(outputs, [i for i in inputs if i is not None])


def limit_threads(n: int) -> None:
    """Use `n` CPU threads in this process (BLAS and torch) and its children:
    same-seed runs reproduce only under the same thread settings."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)


BACKBONE_CONFIGS = {"cnn": "cnn", "minilm": "minilm"}


def config_for(backbone: str, component: str, config_dir: Path) -> Tuple[Path, Dict[str, Any]]:
    """Config file and overrides for a backbone: `cnn`, `minilm`, any
    Hugging Face model name or path (the GPU transformer config), or a
    training config file (.cfg) as it is."""
    if backbone.endswith(".cfg"):  # a training config of its own, e.g. configs/cnn_clean.cfg
        if not Path(backbone).is_file():
            raise DynCleanError(f"{backbone}: no such training config")
        return Path(backbone), {}
    if component not in ("dynclean_ner", "ner"):
        raise DynCleanError(f"--component must be 'dynclean_ner' or 'ner', not {component!r}")
    stem = BACKBONE_CONFIGS.get(backbone.lower(), "transformer")
    overrides: Dict[str, Any] = {} if stem != "transformer" else {"paths.transformer": backbone}
    path = config_dir / f"{stem}{'_ner' if component == 'ner' else ''}.cfg"
    if not path.exists():
        raise DynCleanError(f"{path}: no such config (looked up for backbone {backbone!r})")
    return path, overrides


def check_training_config(config: Path, overrides: Dict[str, Any]) -> None:
    """The training config with its overrides loads and its [training]
    section validates (every value of the right type), or one line naming
    the setting, before `spacy train` creates the output folder (its own
    errors go to stdout, after it has)."""
    from spacy.schemas import ConfigSchemaTraining
    from spacy.util import load_config, registry
    from thinc.api import ConfigValidationError

    source = f"training config {config}"
    try:
        cfg = load_config(config, overrides=overrides, interpolate=True)
    except ConfigValidationError as e:
        raise config_error(e, source=source) from None
    except Exception as e:  # bad interpolations: confection's own errors
        raise DynCleanError(f"{source}: {' '.join(str(e).split())[:300]}") from None
    try:  # builds the [training] objects (batcher, optimizer, callbacks), as `spacy train` will
        registry.resolve(cfg["training"], schema=ConfigSchemaTraining, validate=True)
    except ConfigValidationError as e:
        raise config_error(e, "training", source=source) from None


def run_train(backbone: str, output: PathLike, *, component: str = "dynclean_ner", config_dir: PathLike = "configs",
              gpu_id: int = -1, threads: int = 0, overrides: Optional[Dict[str, Any]] = None) -> None:
    """`train`: `spacy train` with the config of a backbone and `--section.key` overrides."""
    from spacy.cli.train import train

    extra = dict(overrides or {})
    config, overrides = config_for(backbone, component, Path(config_dir))
    overrides.update(extra)
    check_training_paths(overrides, output)
    check_training_config(config, overrides)
    if threads < 0:
        raise DynCleanError(f"--threads must be 0 (leave as is) or a positive number, not {threads}")
    if threads:
        limit_threads(threads)
    msg.info(f"Training with {config}")
    train(config, output, use_gpu=gpu_id, overrides=overrides)
