"""`review` and `apply-review`: the cleaning run stopped after its decision
and grouped for a person, and the person's decisions applied through the
decision's own strategy (every occurrence of a decided group as decided, the
other flags as the cleaning config decides)."""
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from spacy.vocab import Vocab
from thinc.api import Config
from wasabi import msg

from spacy_dynclean.cleaning.batches import Passes, Source
from spacy_dynclean.cleaning.run import Cleaning, run_detectors
from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.outputs import Outputs
from spacy_dynclean.evidence.bundle import Evidence, given_paths
from spacy_dynclean.recording.samples import corpus_fingerprint, doc_id
from spacy_dynclean.review.decisions import read_decisions, reviewed_flags
from spacy_dynclean.review.groups import FORMAT, Flagged, Group, build_groups, flagged_samples, group_flags
from spacy_dynclean.review.render import REVIEW_FILES, ReviewOf, shown_ids, write_files, write_review
from spacy_dynclean.util import (DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike, read_json,
                                 write_json)


def run_review(config: Any, output: PathLike, *, overrides: Optional[Dict[str, Any]] = None,
               code_path: Optional[PathLike] = None, examples: int = 3, max_groups: Optional[int] = 500
               ) -> Dict[str, Any]:
    """Run a cleaning config's detectors and decision and write the review
    files to the folder `output`, without changing any corpus."""
    if examples < 1:
        raise DynCleanError(f"--examples must be at least 1, not {examples}")
    if max_groups is not None and max_groups < 1:
        raise DynCleanError(f"--max-groups must be at least 1, not {max_groups}")
    cleaning = Cleaning.from_config(config, overrides, code_path=code_path)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise DynCleanError(f"{output}: is a file; a review writes a folder")
    finals = {name: output / name for name in REVIEW_FILES}  # the folder's other files are left alone
    batch_size = cleaning.resolved.evidence.get("batch_size")
    with Outputs(list(finals.values()), cleaning.inputs) as outputs:
        paths = {name: outputs.path(path) for name, path in finals.items()}
        if batch_size:
            review, groups = review_in_batches(cleaning, int(batch_size), examples, max_groups)
            counts = write_files(review, groups, cleaning.resolved.text, paths, examples=examples,
                                 max_groups=max_groups)
        else:
            flags = cleaning.decide()
            assert cleaning.evidence is not None
            groups = build_groups(cleaning.evidence, flags, cleaning.suspicions, cleaning.decision)
            counts = write_review(cleaning.evidence, groups, cleaning.resolved.text, paths, examples=examples,
                                  max_groups=max_groups)
    msg.good(f"Wrote {counts['shown']:,} of {counts['groups']:,} groups ({counts['occurrences']:,} flagged samples) "
             f"to {output}: {', '.join(REVIEW_FILES)}")
    return counts


def review_in_batches(cleaning: Cleaning, batch_size: int, examples: int, max_groups: Optional[int]
                      ) -> Tuple[ReviewOf, List[Group]]:
    """The groups of a cleaning's decided flags, a batch of docs at a time in
    passes over the corpus (`cleaning.batches`), and the docs the review
    shows (read in one more pass): the same groups as in memory."""
    source = Source.load(given_paths(cleaning.resolved.paths), batch_size)
    decision = cleaning.decision
    flagged: List[Flagged] = []

    def visit(batch: Evidence) -> None:
        suspicions = run_detectors(batch, cleaning.resolved.detectors, decision.detectors, quiet=True)
        flagged.extend(flagged_samples(batch, decision.flag(batch, suspicions), suspicions, decision))

    Passes(source.batches).run(visit, flagged.clear)
    groups = group_flags(flagged)
    wanted = shown_ids(groups, examples, max_groups)
    docs_by_id = {doc_id(d): d for docs in source.docs() for d in docs if doc_id(d) in wanted}
    dynamics = source.dynamics
    return ReviewOf(source.corpus, dynamics.labels, docs_by_id, str(dynamics.meta.get("fingerprint"))), groups


def read_groups(corpus: PathLike, groups_path: Path) -> Dict[str, Any]:
    """A review's groups file, checked against the corpus it is applied to."""
    data = read_json(groups_path, "review groups file")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DynCleanError(f"{groups_path}: not a review groups file (format {FORMAT!r} expected)")
    docs = read_docbin(corpus, Vocab())
    if corpus_fingerprint(docs, DEFAULT_SPANS_KEY, DEFAULT_IGNORE_KEY) != data["fingerprint"]:
        raise DynCleanError(f"{corpus}: not the corpus of the review {groups_path} (fingerprints differ)")
    return data


def apply_review(corpus: PathLike, decisions_path: PathLike, output: PathLike, *,
                 groups_path: Optional[PathLike] = None, report_path: Optional[PathLike] = None,
                 overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Write `corpus` with every occurrence of each decided group changed as
    decided, and the other flags as the review's cleaning config decides:
    the review's cleaning run, with the decisions passed to its strategy."""
    decisions_path = Path(decisions_path)
    groups_path = Path(groups_path) if groups_path else decisions_path.parent / "groups.json"
    data = read_groups(corpus, groups_path)
    groups = {g["id"]: Group(**g) for g in data["groups"]}
    decided = read_decisions(decisions_path, groups, data["labels"])
    output = Path(output)
    report = Path(report_path) if report_path else output.with_suffix(".report.json")
    cleaning = Cleaning.from_config(Config().from_str(data["config"]),
                                    {"paths.corpus": str(corpus), **(overrides or {})})
    with Outputs([output, report], [corpus, decisions_path, groups_path, *cleaning.inputs]) as outs:
        flags = cleaning.decide()
        assert cleaning.evidence is not None
        reviewed = reviewed_flags(cleaning.evidence, flags, groups, decided)
        cleaning.flags = reviewed.flags
        cleaned = cleaning.apply(reviewed=reviewed.suspicion)
        stats = cleaned.stats
        result = {"corpus": str(corpus), "decisions": str(decisions_path), "groups": str(groups_path),
                  "decided_groups": len(decided),
                  "decisions_by_kind": dict(Counter(d.split(":")[0] for d in decided.values())),
                  "decided_occurrences": sum(len(groups[g].occurrences) for g in decided),
                  "changes": stats.changes, "docs_in": stats.docs_in, "docs_out": stats.docs_out,
                  "docs_dropped": stats.docs_dropped}
        write_docbin(cleaned.docs, outs.path(output))
        write_json(outs.path(report), result)
    msg.good(f"Applied {len(decided):,} group decisions ({result['decided_occurrences']:,} occurrences) and the "
             f"automatic decision elsewhere: {output}")
    return result
