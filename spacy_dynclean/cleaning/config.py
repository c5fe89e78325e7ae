"""The cleaning config: presets, loading with overrides, and resolving it
into its registered parts, every error one line that names the section.

The config works like a `spacy train` config: registered functions,
`${paths.x}` interpolation and `--section.key value` overrides. `[paths]`
names the evidence, `[detectors]` holds one section per detector, and
`[decision]` says which detectors flag which kind and which strategy applies
the flags. `python -m spacy_dynclean init-config` writes the defaults.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from confection import ConfigValidationError
from spacy.util import registry
from thinc.api import Config

from spacy_dynclean.cleaning.contract import Detector
from spacy_dynclean.cleaning.decision import Decision
from spacy_dynclean.evidence.bundle import PATH_KEYS
from spacy_dynclean.outputs import os_error
from spacy_dynclean.util import DynCleanError, PathLike, config_error

CONFIG_DIR = Path(__file__).parent.parent / "configs"
#: Presets that `init-config` writes and `clean` takes by name: `default` needs
#: a gold dev set (held-out evidence), `goldfree` reads the corpus alone,
#: `combined` both.
PRESETS = {"default": "clean.cfg", "goldfree": "clean_goldfree.cfg", "combined": "clean_combined.cfg"}


def default_config(preset: str = "default") -> Config:
    """A packaged cleaning config (see `PRESETS`)."""
    if preset not in PRESETS:
        raise DynCleanError(f"preset must be one of {sorted(PRESETS)}, not {preset!r}")
    return Config().from_disk(CONFIG_DIR / PRESETS[preset], interpolate=False)


def load_clean_config(config: Union[PathLike, Config, str], overrides: Optional[Dict[str, Any]] = None) -> Config:
    """The config with overrides applied (not yet interpolated): a path, a
    `Config`, or a preset name ("default")."""
    overrides = dict(overrides or {})
    try:
        if isinstance(config, Config):
            cfg = Config(config).copy()
            cfg = Config(cfg).from_str(cfg.to_str(), overrides=overrides, interpolate=False) if overrides else cfg
        elif isinstance(config, str) and config in PRESETS and not Path(config).exists():
            cfg = Config().from_disk(CONFIG_DIR / PRESETS[config], overrides=overrides, interpolate=False)
        else:
            path = Path(config)
            if not path.exists():
                raise DynCleanError(f"{path}: no such cleaning config")
            if path.is_dir():
                raise DynCleanError(f"{path}: is a folder, not a cleaning config file")
            if not path.read_bytes().strip():
                raise DynCleanError(f"{path}: is empty; a cleaning config has [paths], [detectors] and [decision] "
                                    "(`init-config` writes one)")
            cfg = Config().from_disk(path, overrides=overrides, interpolate=False)
    except ConfigValidationError as e:
        source = "cleaning config" if isinstance(config, Config) or str(config) in PRESETS else str(config)
        raise config_error(e, source=source) from None
    except UnicodeDecodeError:
        raise DynCleanError(f"{config}: not a UTF-8 text file (a cleaning config is)") from None
    except OSError as e:
        raise os_error(config, e) from None
    except Exception as e:  # configparser's own errors: one line with the parser's words
        text = " ".join(str(e).split())
        raise DynCleanError(f"{config}: not a valid cleaning config ({type(e).__name__}: {text[:300]})") from None
    for section in ("paths", "detectors", "decision"):
        if section not in cfg:
            raise DynCleanError(f"cleaning config: no [{section}] section")
    return cfg


def resolve_section(cfg: Config, path: Tuple[str, ...]) -> Tuple[Any, Dict[str, Any]]:
    """Resolve and fill one registered section; errors name it."""
    where = ".".join(path)
    block: Any = cfg
    for key in path:
        block = block[key]
    if not isinstance(block, dict) or not any(k.startswith("@") for k in block):
        raise DynCleanError(f"cleaning config: [{where}] is not a registered function (no @misc = \"...\")")
    try:
        filled = registry.fill({"x": block}, validate=True)["x"]
        resolved = registry.resolve({"x": block}, validate=True)["x"]
    except ConfigValidationError as e:
        raise config_error(e, where, wrapped=True) from None
    except DynCleanError as e:
        raise DynCleanError(f"cleaning config: [{where}] {e}") from None
    except Exception as e:  # an unknown function name (catalogue.RegistryError) and the like
        text = " ".join(str(e).split())
        if "Could not find function" in text:
            text = text.split(" If you're using")[0] + " (a typo, or your --code not given?)"
        raise DynCleanError(f"cleaning config: [{where}] {text[:300]}") from None
    return resolved, filled



@dataclass
class Resolved:
    """A cleaning config resolved: the evidence paths and settings, the
    built detectors and decision, and the filled config as text."""

    paths: Dict[str, Any]
    evidence: Dict[str, Any]
    detectors: Dict[str, Detector]
    decision: Decision
    text: str

    @property
    def inputs(self) -> List[Any]:
        """The evidence files the config names (no output may overwrite them)."""
        return [self.paths.get(k) for k in PATH_KEYS]


def check_evidence_settings(evidence: Dict[str, Any]) -> None:
    """[evidence]: a whole span length of at least 1, span group names that are text."""
    length = evidence.get("max_span_length", 8)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise DynCleanError(f"cleaning config: [evidence] max_span_length must be a whole number of at least 1, "
                            f"not {length!r}")
    size = evidence.get("batch_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise DynCleanError(f"cleaning config: [evidence] batch_size must be a whole number of docs of at least 1 "
                            f"or null (the whole corpus at once), not {size!r}")
    for key in ("spans_key", "ignore_key"):
        value = evidence.get(key, "x")
        if not isinstance(value, str) or not value:
            raise DynCleanError(f"cleaning config: [evidence] {key} must be a span group name, not {value!r}")


def resolve_clean_config(cfg: Config) -> Resolved:
    """Interpolate, resolve and fill a loaded cleaning config."""
    try:
        interpolated = Config(cfg).interpolate()
    except ConfigValidationError as e:
        raise config_error(e) from None
    except Exception as e:
        raise DynCleanError(f"cleaning config: {' '.join(str(e).split())[:300]}") from None
    filled = Config(interpolated).copy()
    paths = dict(interpolated["paths"])
    evidence = dict(interpolated.get("evidence", {}))
    unknown = set(evidence) - {"max_span_length", "spans_key", "ignore_key", "batch_size"}
    if unknown:
        raise DynCleanError(f"cleaning config: [evidence] {sorted(unknown)[0]}: unknown setting")
    check_evidence_settings(evidence)
    detectors: Dict[str, Any] = {}
    for name in interpolated["detectors"]:
        detectors[name], filled["detectors"][name] = resolve_section(interpolated, ("detectors", name))
    if isinstance(interpolated["decision"].get("strategy"), dict):  # its own errors name it
        resolve_section(interpolated, ("decision", "strategy"))
    decision, filled["decision"] = resolve_section(interpolated, ("decision",))
    if not isinstance(decision, Decision):
        raise DynCleanError("cleaning config: [decision] must be a registered decision "
                            "(e.g. spacy-dynclean.decision.v1)")
    for key, names in (("positives", decision.positives), ("negatives", decision.negatives),
                       ("hand_off", [*decision.hand_off, *decision.hand_off.values()])):
        for name in names:
            if name not in detectors:
                raise DynCleanError(f"cleaning config: [decision] {key}: no detector {name!r} in [detectors] "
                                    f"(there are: {', '.join(detectors) or 'none'})")
    named = getattr(decision.strategy, "keywords", {}).get("detectors")
    for name in named or []:
        if name not in decision.detectors:
            raise DynCleanError(f"cleaning config: [decision.strategy] detectors: {name!r} is not a detector the "
                                f"decision reads (it reads: {', '.join(decision.detectors) or 'none'})")
    return Resolved(paths, evidence, detectors, decision, filled.to_str())

