"""The cleaning run: the one object every command that cleans goes through.

    cleaning = Cleaning.from_config("goldfree", {"paths.corpus": "train.spacy"})
    cleaning.detect()      # every detector the decision reads
    cleaning.decide()      # the decision's flags
    cleaning.apply()       # the decision's strategy: the corrected docs
    files = CleanFiles.of("train-cleaned.spacy")  # the corpus, its reports and config
    with Outputs(files.all, cleaning.inputs) as outputs:
        cleaning.write(outputs, files)  # written together

`clean` runs all of it; `review` stops after `decide` and groups the flags
for a person; `apply-review` passes the reviewer's decisions to `apply` as
one more suspicion, which the decision's own strategy honours first; the
one-run training callback hands `load` the evidence it holds in memory.
"""
import inspect
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from thinc.api import Config
from wasabi import msg

from spacy_dynclean.cleaning.config import Resolved, load_clean_config, resolve_clean_config
from spacy_dynclean.cleaning.contract import Cleaned, Detector, Flags, Suspicion
from spacy_dynclean.cleaning.batches import Passes, Source
from spacy_dynclean.cleaning.decision import Decision, majority_warnings, volume_counts, volume_warnings
from spacy_dynclean.cleaning.report import Tally, decision_row, jsonable, markdown_summary
from spacy_dynclean.convert import write_docbin
from spacy_dynclean.docbin import DocBinWriter
from spacy_dynclean.evidence.bundle import Evidence, Missing, given_paths
from spacy_dynclean.outputs import Outputs
from spacy_dynclean.recording.samples import FLAG_THRESHOLD
from spacy_dynclean.util import (DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike, fast_msgpack,
                                 write_json)


def run_detectors(evidence: Evidence, detectors: Dict[str, Detector], names: List[str], *, quiet: bool = False
                  ) -> Dict[str, Suspicion]:
    """Call each detector the decision reads; errors name its section
    (`quiet`: no line per detector, as for each batch of a cleaning in batches)."""
    out: Dict[str, Suspicion] = {}
    n = len(evidence.samples)
    missing: Dict[Any, Any] = {}
    for name in names:
        if name not in detectors:
            continue  # the decision names it: Decision.flag says so
        start = time.time()
        try:
            suspicion = detectors[name](evidence)
            Suspicion.check(suspicion, n)
        except Missing as e:  # a batch: the other detectors may ask for counts too, in the same pass
            missing.update(e.counts)
            continue
        except DynCleanError as e:
            text = str(e)
            raise DynCleanError(text if text.startswith("[") else f"[detectors.{name}] {text}") from None
        if not quiet:
            msg.info(f"detectors.{name}: {int(suspicion.positive.sum()):,} positives and "
                     f"{int(suspicion.negative.sum()):,} negatives flagged ({time.time() - start:.1f}s)")
        out[name] = suspicion
    if missing:
        raise Missing(missing)
    return out


def apply_strategy(decision: Decision, evidence: Evidence, flags: Flags, suspicions: Dict[str, Suspicion],
                   reviewed: Optional[Suspicion] = None) -> Cleaned:
    """The decision's strategy on `evidence`; errors name its section."""
    strategy = decision.strategy
    try:
        if reviewed is None:
            cleaned = strategy(evidence, flags, suspicions)
        elif "reviewed" in inspect.signature(strategy).parameters:
            cleaned = strategy(evidence, flags, suspicions, reviewed=reviewed)
        else:
            raise DynCleanError("this strategy takes no reviewed decisions (no `reviewed` argument)")
    except DynCleanError as e:
        text = str(e)
        raise DynCleanError(text if text.startswith("[") else f"[decision.strategy] {text}") from None
    return Cleaned(*cleaned) if isinstance(cleaned, tuple) else cleaned  # a user's strategy may return (docs, stats)


def unread_overrides(overrides: Dict[str, Any], resolved: Resolved) -> List[str]:
    """A line per override of a detector that no decision reads: it would change nothing."""
    read = resolved.decision.detectors
    out = []
    for key in overrides:
        parts = str(key).split(".")
        if parts[0] == "detectors" and len(parts) > 2 and parts[1] not in read:
            out.append(f"--{key}: the decision reads no detector {parts[1]!r} (it reads {', '.join(read) or 'none'}), "
                       "so this override changes nothing")
    return out


@dataclass
class CleanFiles:
    """The files a cleaning writes: the corpus, the JSON report (default
    OUTPUT.report.json), its Markdown twin and the resolved config."""

    corpus: Path
    report: Path
    summary: Path
    config: Path

    @classmethod
    def of(cls, output: PathLike, report_path: Optional[PathLike] = None) -> "CleanFiles":
        output = Path(output)
        report = Path(report_path) if report_path else output.with_suffix(".report.json")
        return cls(output, report, report.with_suffix(".md"), output.with_suffix(".cfg"))

    @property
    def all(self) -> List[Path]:
        return [self.corpus, self.report, self.summary, self.config]


@dataclass
class Cleaning:
    """One cleaning: the resolved config and what each stage found."""

    resolved: Resolved
    source: str
    overrides: Dict[str, Any]
    inputs: List[Any]
    evidence: Optional[Evidence] = None
    suspicions: Dict[str, Suspicion] = field(default_factory=dict)
    flags: Optional[Flags] = None
    cleaned: Optional[Cleaned] = None
    started: float = field(default_factory=time.time)
    warnings: List[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: Union[PathLike, Config, str], overrides: Optional[Dict[str, Any]] = None, *,
                    code_path: Optional[PathLike] = None) -> "Cleaning":
        """A cleaning config (a path, a `Config` or a preset name) with
        `--section.key` style `overrides`, resolved; nothing read yet."""
        overrides = dict(overrides or {})
        resolved = resolve_clean_config(load_clean_config(config, overrides))
        is_file = not isinstance(config, Config) and Path(str(config)).exists()
        inputs = resolved.inputs + ([config] if is_file else []) + ([code_path] if code_path else [])
        cleaning = cls(resolved, "<Config>" if isinstance(config, Config) else str(config), overrides, inputs)
        cleaning.warnings = unread_overrides(overrides, resolved)
        for w in cleaning.warnings:
            msg.warn(w)
        return cleaning

    @property
    def decision(self) -> Decision:
        return self.resolved.decision

    def load(self, evidence: Optional[Evidence] = None) -> Evidence:
        """The evidence the config's `[paths]` name, or `evidence` already in memory."""
        if evidence is None:
            settings = self.resolved.evidence
            evidence = Evidence.load(
                self.resolved.paths, max_span_length=int(settings.get("max_span_length", 8)),
                spans_key=str(settings.get("spans_key", DEFAULT_SPANS_KEY)),
                ignore_key=str(settings.get("ignore_key", DEFAULT_IGNORE_KEY)),
            )
            msg.info(f"Loaded {len(evidence.docs):,} docs and {len(evidence.samples):,} samples x "
                     f"{evidence.samples.n_epochs} epochs ({time.time() - self.started:.1f}s)")
        self.evidence = evidence
        return evidence

    def detect(self) -> Dict[str, Suspicion]:
        """Run every detector the decision reads (loading the evidence first if needed)."""
        evidence = self.evidence if self.evidence is not None else self.load()
        self.suspicions = run_detectors(evidence, self.resolved.detectors, self.decision.detectors)
        return self.suspicions

    def decide(self) -> Flags:
        """The decision's flags over the detectors' suspicions."""
        if self.evidence is None or not self.suspicions:
            self.detect()
        assert self.evidence is not None
        flags = self.decision.flag(self.evidence, self.suspicions)
        flags.warnings += self.warnings
        for name, suspicion in self.suspicions.items():
            flags.warnings += [f"detectors.{name}: {w}" for w in suspicion.warnings]
        msg.info(f"Decided: {int(flags.positive.sum()):,} positives and {int(flags.negative.sum()):,} negatives "
                 f"flagged ({time.time() - self.started:.1f}s)")
        self.flags = flags
        return flags

    def apply(self, reviewed: Optional[Suspicion] = None) -> Cleaned:
        """The decision's strategy applied to copies of the docs it changes;
        `reviewed`: a reviewer's decisions, which the strategy honours first."""
        flags = self.flags if self.flags is not None else self.decide()
        assert self.evidence is not None
        cleaned = apply_strategy(self.decision, self.evidence, flags, self.suspicions, reviewed)
        stats = cleaned.stats
        flags.warnings += volume_warnings(
            self.evidence.samples, flags, stats.docs_in, stats.docs_dropped,
            max_negative_share=self.decision.max_negative_share, max_dropped_share=self.decision.max_dropped_share)
        if not cleaned.docs:
            raise DynCleanError("cleaning would drop every doc: nothing written")
        self.cleaned = cleaned
        return cleaned

    def report(self, output: PathLike) -> Dict[str, Any]:
        """The JSON report of a cleaning that wrote `output`."""
        evidence, flags, cleaned = self.evidence, self.flags, self.cleaned
        assert evidence is not None and flags is not None and cleaned is not None
        return self.report_of(Tally.of(evidence, self.suspicions, flags, cleaned, []), evidence, flags.warnings,
                              output)

    def report_of(self, tally: Tally, evidence: Evidence, warnings: List[str], output: PathLike) -> Dict[str, Any]:
        """The JSON report of the counts `tally` (`evidence`: the corpus's, or a batch's)."""
        stats = tally.stats
        return {
            "input": str(evidence.corpus), "output": str(output), "config": self.source,
            "overrides": jsonable(self.overrides), "paths": evidence.paths,
            "samples": tally.samples, "positives": tally.positives, "negatives": tally.negatives,
            "epochs_recorded": evidence.samples.n_epochs,
            "threshold_samples": 0 if evidence.threshold is None
            else len(evidence.threshold.flagged_rows(FLAG_THRESHOLD)),
            "detectors": tally.detectors, "decision": decision_row(self.decision, tally.trusted),
            "flagged_positives": tally.flagged_positives, "flagged_negatives": tally.flagged_negatives,
            "negatives_in_corpus": tally.negatives_in_corpus, "protected_negatives": tally.protected_negatives,
            "per_label": tally.per_label, "strategy": stats.strategy, **jsonable(stats),
            "entities_too_long": tally.entities_too_long, "warnings": warnings,
            "flagged_rows": {"positives": tally.rows_positive, "negatives": tally.rows_negative},
            "resolved_config": self.resolved.text, "seconds": round(time.time() - self.started, 2),
        }

    def clean_in_batches(self, outputs: Outputs, files: CleanFiles, batch_size: int) -> Dict[str, Any]:
        """`apply` and `write`, a batch of `batch_size` docs at a time in
        passes over the corpus (`cleaning.batches`): the same corpus and
        report as the whole corpus in memory would give."""
        source = Source.load(given_paths(self.resolved.paths), batch_size)
        msg.info(f"Cleaning {source.corpus} in batches of {batch_size:,} docs ({len(source.dynamics.doc_ids):,} "
                 f"docs, {len(source.dynamics):,} samples x {source.dynamics.n_epochs} epochs)")
        decision, labels = self.decision, source.dynamics.labels
        with ExitStack() as stack:
            stack.enter_context(fast_msgpack())
            file = stack.enter_context(outputs.path(files.corpus).open("wb"))
            state: Dict[str, Any] = {}
            stack.callback(lambda: state["writer"].discard() if state.get("writer") else None)

            def restart() -> None:
                if state.get("writer"):
                    state["writer"].discard()
                file.seek(0)
                file.truncate()
                state.update(tally=Tally(), writer=DocBinWriter(file, outputs.path(files.corpus).parent), last=None)

            def visit(batch: Evidence) -> None:
                suspicions = run_detectors(batch, self.resolved.detectors, decision.detectors, quiet=True)
                flags = decision.flag(batch, suspicions)
                cleaned = apply_strategy(decision, batch, flags, suspicions)
                assert flags.label_counts is not None
                # the decision's warnings start with its per-label ones (`Decision.flag`): made again from the sums
                majority = majority_warnings(labels, flags.label_counts, decision.majority_warning)
                warnings = [*flags.warnings[len(majority):], *self.warnings,
                            *(f"detectors.{name}: {w}" for name, s in suspicions.items() for w in s.warnings)]
                for doc in cleaned.docs:
                    state["writer"].add(doc)
                state["tally"].add(Tally.of(batch, suspicions, flags, cleaned, warnings))
                state["last"] = batch

            Passes(source.batches).run(visit, restart)
            tally: Tally = state["tally"]
            if not tally.stats.docs_out:
                raise DynCleanError("cleaning would drop every doc: nothing written")
            state["writer"].close()
        assert tally.label_counts is not None
        warnings = [*majority_warnings(labels, tally.label_counts, decision.majority_warning), *tally.warnings,
                    *volume_counts(tally.candidate_negatives, tally.flagged_negatives, tally.stats.docs_in,
                                   tally.stats.docs_dropped, max_negative_share=decision.max_negative_share,
                                   max_dropped_share=decision.max_dropped_share)]
        tally.rows_positive.sort()
        tally.rows_negative.sort()
        report = self.report_of(tally, state["last"], warnings, files.corpus)
        self.write_reports(outputs, files, report)
        return report

    def write(self, outputs: Outputs, files: CleanFiles) -> Dict[str, Any]:
        """Write the corrected corpus, its report (JSON and Markdown) and the
        resolved config into the transaction `outputs`; returns the report."""
        assert self.cleaned is not None
        report = self.report(files.corpus)
        # an OSError here (a full disk) leaves the transaction, which names the output it was writing
        write_docbin(self.cleaned.docs, outputs.path(files.corpus))
        self.write_reports(outputs, files, report)
        return report

    def write_reports(self, outputs: Outputs, files: CleanFiles, report: Dict[str, Any]) -> None:
        """The report (JSON and Markdown) and the resolved config, into `outputs`."""
        write_json(outputs.path(files.report), report)
        outputs.path(files.summary).write_text(markdown_summary(report), encoding="utf8")
        outputs.path(files.config).write_text(self.resolved.text, encoding="utf8")


def run_clean(
    config: Union[PathLike, Config, str], output: PathLike, *, overrides: Optional[Dict[str, Any]] = None,
    report_path: Optional[PathLike] = None, code_path: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """`clean`: write the cleaned DocBin `output`, its report (JSON and
    Markdown) and the resolved config together; nothing is written when
    anything is wrong. Returns the report."""
    cleaning = Cleaning.from_config(config, overrides, code_path=code_path)
    files = CleanFiles.of(output, report_path)
    batch_size = cleaning.resolved.evidence.get("batch_size")
    with Outputs(files.all, cleaning.inputs) as outputs:
        if batch_size:
            report = cleaning.clean_in_batches(outputs, files, int(batch_size))
        else:
            cleaning.apply()
            report = cleaning.write(outputs, files)
        outputs.commit()
    msg.good(f"Wrote {report['docs_out']:,} docs to {files.corpus} ({report['docs_dropped']} dropped); report: "
             f"{files.report}, {files.summary}; config: {files.config} ({time.time() - cleaning.started:.1f}s)")
    for w in report["warnings"]:
        msg.warn(w)
    return report
