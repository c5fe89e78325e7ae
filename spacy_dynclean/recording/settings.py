"""The settings of the `dynclean_ner` component: its default model and the
checks that reject settings that make no sense."""
from typing import Any, Dict, Optional

from thinc.api import Config

from spacy_dynclean.recording.samples import THRESHOLD_LABEL_MODES
from spacy_dynclean.util import DynCleanError

DEFAULT_CONFIG = """
[model]
@architectures = "spacy.SpanCategorizer.v1"

[model.reducer]
@layers = "spacy.mean_max_reducer.v1"
hidden_size = 128

[model.scorer]
@layers = "Softmax.v2"

[model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
rows = [5000, 1000, 2500, 1000]
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
include_static_vectors = false

[model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = ${model.tok2vec.embed.width}
window_size = 1
maxout_pieces = 3
depth = 4
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_CONFIG)["model"]

NEGATIVE_SAMPLING = ("all", "random", "hard")
DYNAMICS_MODES = ("update", "epoch")


def validate_settings(
    *, max_span_length: int, negative_weight: float, negative_sampling: str,
    negative_fraction: float, dynamics_mode: str, threshold_label: str,
    threshold_positives: Optional[int], threshold_negatives: Optional[int],
    threshold_negative_pool: str,
) -> None:
    """Reject settings that make no sense, with a message naming the setting."""
    if max_span_length < 1:
        raise DynCleanError(f"max_span_length must be at least 1, not {max_span_length}")
    if negative_weight < 0:
        raise DynCleanError(f"negative_weight must be >= 0, not {negative_weight}")
    if negative_sampling not in NEGATIVE_SAMPLING:
        raise DynCleanError(f"negative_sampling must be one of {NEGATIVE_SAMPLING}, not {negative_sampling!r}")
    if not 0.0 < negative_fraction <= 1.0:
        raise DynCleanError(f"negative_fraction must be in (0, 1], not {negative_fraction}")
    if dynamics_mode not in DYNAMICS_MODES:
        raise DynCleanError(f"dynamics_mode must be one of {DYNAMICS_MODES}, not {dynamics_mode!r}")
    if threshold_label not in THRESHOLD_LABEL_MODES:
        raise DynCleanError(f"threshold_label must be one of {THRESHOLD_LABEL_MODES}, not {threshold_label!r}")
    if threshold_negative_pool not in ("all", "disjoint"):
        raise DynCleanError(f"threshold_negative_pool must be 'all' or 'disjoint', not {threshold_negative_pool!r}")
    for name, value in (("threshold_positives", threshold_positives), ("threshold_negatives", threshold_negatives)):
        if value is not None and value < 0:
            raise DynCleanError(f"{name} must be >= 0 or null, not {value}")


PACKAGE = "spacy-dynclean"


def name_requirement(meta: Dict[str, Any]) -> None:
    """Add `spacy-dynclean>=VERSION` (the installed version) to a pipeline
    meta's requirements, once: `spacy.load` needs the package for the factory."""
    requirements = meta.setdefault("requirements", [])
    if any(str(r).startswith(PACKAGE) for r in requirements):
        return
    try:
        from importlib.metadata import version

        requirements.append(f"{PACKAGE}>={version(PACKAGE)}")
    except Exception:  # running from a source tree
        requirements.append(PACKAGE)
