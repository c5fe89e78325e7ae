"""`clean`: a cleaning config -> evidence -> detectors -> decision -> the
cleaned corpus, its report and the resolved config, written together.

The config works like a `spacy train` config: registered functions,
`${paths.x}` interpolation and `--section.key value` overrides. `[paths]`
names the evidence, `[detectors]` holds one section per detector, and
`[decision]` says which detectors flag which kind and which strategy applies
the flags. `python -m spacy_dynclean init-config` writes the defaults.
"""
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy
from confection import ConfigValidationError
from spacy.util import registry
from thinc.api import Config
from wasabi import msg

from .convert import write_docbin
from .decision import Decision, Flags, volume_warnings
from .detectors import Suspicion
from .evidence import Evidence
from .outputs import Outputs, os_error
from .report import markdown_summary
from .util import DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike, write_json

CONFIG_DIR = Path(__file__).parent / "configs"
#: Presets that `init-config` writes and `clean` takes by name: `default` needs
#: a gold dev set (held-out evidence), `goldfree` reads the corpus alone,
#: `combined` both.
PRESETS = {"default": "clean.cfg", "goldfree": "clean_goldfree.cfg", "combined": "clean_combined.cfg"}


def default_config(preset: str = "default") -> Config:
    """A packaged cleaning config (see `PRESETS`)."""
    if preset not in PRESETS:
        raise DynCleanError(f"preset must be one of {sorted(PRESETS)}, not {preset!r}")
    return Config().from_disk(CONFIG_DIR / PRESETS[preset], interpolate=False)


def config_error(error: ConfigValidationError, where: str = "", wrapped: bool = False,
                 source: str = "cleaning config") -> DynCleanError:
    """One line naming the section and key of the first config error
    (`wrapped`: the section was resolved as {"x": section}; `source`: the
    file, where the error is in the file itself)."""
    errors = getattr(error, "errors", None) or []
    if errors:
        first = errors[0]
        loc = [str(x) for x in first.get("loc", [])][1 if wrapped else 0:]
        text = str(first.get("msg", "invalid")).replace("at root: ", "")
        text = text.replace("<class 'float'>", "a number").replace("<class 'int'>", "a whole number")
        text = text.replace("<class 'str'>", "a string").replace("<class 'bool'>", "true or false")
        section = ".".join(([where] if where else []) + loc[:-1]) or where
        key = loc[-1] if loc else ""
        place = f"[{section}] {key}" if section else key
        return DynCleanError(f"{source}: {place}: {text}")
    text = " ".join(str(getattr(error, "desc", "") or getattr(error, "title", "") or error).split())
    return DynCleanError(f"{source}{' [' + where + ']' if where else ''}: {text}")


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


def resolve_clean_config(cfg: Config) -> Tuple[Dict[str, Any], Config]:
    """Interpolate, resolve and fill: returns the resolved parts (paths,
    evidence settings, detectors, decision) and the filled config."""
    try:
        interpolated = Config(cfg).interpolate()
    except ConfigValidationError as e:
        raise config_error(e) from None
    except Exception as e:
        raise DynCleanError(f"cleaning config: {' '.join(str(e).split())[:300]}") from None
    filled = Config(interpolated).copy()
    paths = dict(interpolated["paths"])
    evidence = dict(interpolated.get("evidence", {}))
    unknown = set(evidence) - {"max_span_length", "spans_key", "ignore_key"}
    if unknown:
        raise DynCleanError(f"cleaning config: [evidence] {sorted(unknown)[0]}: unknown setting")
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
    return {"paths": paths, "evidence": evidence, "detectors": detectors, "decision": decision}, filled


def run_detectors(evidence: Evidence, detectors: Dict[str, Any], names: List[str]) -> Dict[str, Suspicion]:
    """Call each detector the decision reads; errors name its section."""
    out: Dict[str, Suspicion] = {}
    n = len(evidence.samples)
    for name in names:
        if name not in detectors:
            continue  # the decision names it: Decision.flag says so
        start = time.time()
        try:
            suspicion = detectors[name](evidence)
            Suspicion.check(suspicion, n)
        except DynCleanError as e:
            text = str(e)
            raise DynCleanError(text if text.startswith("[") else f"[detectors.{name}] {text}") from None
        msg.info(f"detectors.{name}: {int(suspicion.positive.sum()):,} positives and "
                 f"{int(suspicion.negative.sum()):,} negatives flagged ({time.time() - start:.1f}s)")
        out[name] = suspicion
    return out


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def build_report(evidence: Evidence, suspicions: Dict[str, Suspicion], flags: Flags, stats: Any,
                 decision: Decision, *, output: Path, config_text: str, config_path: str,
                 overrides: Dict[str, Any], seconds: float) -> Dict[str, Any]:
    samples = evidence.samples
    real = ~samples.threshold
    candidate = samples.candidates
    detectors = {}
    for name, s in suspicions.items():
        detectors[name] = {
            "flagged_positives": int((s.positive & candidate & samples.positive).sum()),
            "flagged_negatives": int((s.negative & candidate & ~samples.positive).sum()),
            "proposals": len(s.proposals),
            **_jsonable(s.details),
        }
    per_label = {
        label: {"positives": int(((samples.label == j) & samples.positive & real).sum()),
                "flagged": int(((samples.label == j) & flags.positive).sum())}
        for j, label in enumerate(samples.labels)
    }
    return {
        "input": str(evidence.corpus),
        "output": str(output),
        "config": config_path,
        "overrides": _jsonable(overrides),
        "paths": evidence.paths,
        "samples": int(real.sum()),
        "positives": int((samples.positive & real).sum()),
        "negatives": int((~samples.positive & real).sum()),
        "epochs_recorded": samples.n_epochs,
        "threshold_samples": int(evidence.threshold.threshold.sum()) if evidence.threshold is not None else 0,
        "detectors": detectors,
        "decision": {"positives": decision.positives, "negatives": decision.negatives,
                     "positive_rule": decision.positive_rule, "negative_rule": decision.negative_rule,
                     "hand_off": decision.hand_off, "trusted": flags.trusted},
        "flagged_positives": int(flags.positive.sum()),
        "flagged_negatives": int(flags.negative.sum()),
        "protected_negatives": flags.protected_negatives,
        "per_label": per_label,
        "strategy": getattr(stats, "strategy", None),
        **_jsonable(stats),
        "entities_too_long": int(samples.meta.get("gold_spans_too_long", 0)),
        "warnings": flags.warnings,
        "flagged_rows": {"positives": numpy.nonzero(flags.positive)[0].tolist(),
                         "negatives": numpy.nonzero(flags.negative)[0].tolist()},
        "resolved_config": config_text,
        "seconds": round(seconds, 2),
    }


def clean_outputs(output: PathLike, report_path: Optional[PathLike] = None) -> Tuple[Path, Path, Path, Path]:
    """The files a cleaning writes: the corpus, the JSON report (default
    OUTPUT.report.json), its Markdown twin and the resolved config."""
    output = Path(output)
    report = Path(report_path) if report_path else output.with_suffix(".report.json")
    return output, report, report.with_suffix(".md"), output.with_suffix(".cfg")


def prepare(cfg: Config) -> Tuple[Evidence, Dict[str, Any], Dict[str, Suspicion], Flags, str]:
    """Resolve a cleaning config, load its evidence, run the detectors the
    decision reads and decide: (evidence, resolved parts, suspicions, flags,
    the resolved config as text). Writes nothing."""
    t0 = time.time()
    parts, filled = resolve_clean_config(cfg)
    settings = parts["evidence"]
    evidence = Evidence.load(
        parts["paths"], max_span_length=int(settings.get("max_span_length", 8)),
        spans_key=str(settings.get("spans_key", DEFAULT_SPANS_KEY)),
        ignore_key=str(settings.get("ignore_key", DEFAULT_IGNORE_KEY)),
    )
    msg.info(f"Loaded {len(evidence.docs):,} docs and {len(evidence.samples):,} samples x "
             f"{evidence.samples.n_epochs} epochs ({time.time() - t0:.1f}s)")
    decision: Decision = parts["decision"]
    suspicions = run_detectors(evidence, parts["detectors"], decision.detectors)
    flags = decision.flag(evidence, suspicions)
    for name, suspicion in suspicions.items():
        flags.warnings += [f"detectors.{name}: {w}" for w in suspicion.warnings]
    msg.info(f"Decided: {int(flags.positive.sum()):,} positives and {int(flags.negative.sum()):,} negatives "
             f"flagged ({time.time() - t0:.1f}s)")
    return evidence, parts, suspicions, flags, filled.to_str()


def run_clean(
    config: Union[PathLike, Config, str], output: PathLike, *, overrides: Optional[Dict[str, Any]] = None,
    report_path: Optional[PathLike] = None, code_path: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Clean the corpus of a cleaning config (a path, a `Config` or a preset
    name) with `--section.key` style `overrides`; write the cleaned DocBin
    `output`, its report (JSON and Markdown) and the resolved config
    together. Nothing is written when anything is wrong; returns the report."""
    from .review import prepare_inputs

    t0 = time.time()
    overrides = dict(overrides or {})
    cfg = load_clean_config(config, overrides)
    out, report_json, report_md, config_out = clean_outputs(output, report_path)
    with Outputs([out, report_json, report_md, config_out], prepare_inputs(cfg, config, code_path)) as outputs:
        evidence, parts, suspicions, flags, config_text = prepare(cfg)
        decision: Decision = parts["decision"]
        try:
            cleaned, stats = decision.strategy(evidence, flags, suspicions)
        except DynCleanError as e:
            text = str(e)
            raise DynCleanError(text if text.startswith("[") else f"[decision.strategy] {text}") from None
        flags.warnings += volume_warnings(
            evidence.samples, flags, stats.docs_in, stats.docs_dropped,
            max_negative_share=decision.max_negative_share, max_dropped_share=decision.max_dropped_share)
        if not cleaned:
            raise DynCleanError("cleaning would drop every doc: nothing written")
        report = build_report(
            evidence, suspicions, flags, stats, decision, output=out, config_text=config_text,
            config_path=str(config) if not isinstance(config, Config) else "<Config>", overrides=overrides,
            seconds=time.time() - t0,
        )
        try:
            write_docbin(cleaned, outputs.path(out))
            write_json(outputs.path(report_json), report)
            outputs.path(report_md).write_text(markdown_summary(report), encoding="utf8")
            outputs.path(config_out).write_text(config_text, encoding="utf8")
        except OSError as e:
            raise os_error(out.parent, e) from None
        outputs.commit()
    msg.good(f"Wrote {stats.docs_out:,} docs to {out} ({stats.docs_dropped} dropped); report: {report_json}, "
             f"{report_md}; config: {config_out} ({time.time() - t0:.1f}s)")
    for w in flags.warnings:
        msg.warn(w)
    return report
