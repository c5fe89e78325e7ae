"""Cleaning in batches of docs, in passes over the corpus.

A corpus too large to hold is read a batch of docs at a time (`[evidence]
batch_size`), each batch with its rows of the recording's sample table. What
a detector counts over the whole corpus (word casing, per-form tallies, the
prior entity rate) it asks for with `Evidence.counts`; the first batch that
asks for a count not made yet starts it, and the pass counts it over every
batch. The next pass hands the sums to every batch, so each batch decides
as the whole corpus would, and the pass in which no batch asks for anything
new is the one whose cleaned docs are written. Counts that need others
first (a per-form tally of the structure's flags, which need the casing)
take one pass each: the presets clean in three or four passes.
"""
import time
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Set

import numpy
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from spacy_dynclean.docbin_reader import iter_docbin
from spacy_dynclean.evidence.bundle import Count, Evidence, Missing, add_up
from spacy_dynclean.evidence.heldout import FormEvidence
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.recording.samples import FLAG_IGNORED, FLAG_POSITIVE, FLAG_THRESHOLD, SampleIndex, doc_id
from spacy_dynclean.util import DynCleanError

#: Passes after which a cleaning that still asks for new counts is a detector's error.
MAX_PASSES = 10
#: A progress line every this many docs of a pass.
PROGRESS = 100_000


@dataclass
class Source:
    """What every batch of a cleaning reads: the corpus file, the recording's
    table (the first row of each of its docs, `bases`) and the evidence read whole."""

    corpus: Path
    dynamics: Dynamics
    bases: numpy.ndarray
    threshold: Optional[Dynamics]
    heldout: Optional[FormEvidence]
    paths: Dict[str, Optional[str]]
    batch_size: int
    checked: bool = False  # every doc checked against the recording (in the first pass)

    @classmethod
    def load(cls, paths: Dict[str, Optional[str]], batch_size: int) -> "Source":
        """The files of `paths` (`Evidence.load`'s), for a cleaning in batches."""
        if not paths.get("dynamics"):
            raise DynCleanError("[evidence] batch_size needs paths.dynamics (the recording's sample table)")
        if paths.get("folds"):
            raise DynCleanError("[evidence] batch_size: out-of-fold predictions (paths.folds) are read whole; "
                                "clean without batch_size")
        dynamics = Dynamics.from_disk(str(paths["dynamics"]))
        if len(dynamics.flagged_rows(FLAG_THRESHOLD)):
            raise DynCleanError(f"{paths['dynamics']}: recorded with threshold samples: give it as "
                                "paths.threshold_dynamics and the run without them as paths.dynamics")
        threshold = Dynamics.from_disk(str(paths["threshold_dynamics"])) if paths.get("threshold_dynamics") else None
        if threshold is not None:
            Evidence.check_threshold(dynamics, threshold, paths)
        heldout = FormEvidence.from_disk(str(paths["heldout"])) if paths.get("heldout") else None
        return cls(Path(str(paths["corpus"])), dynamics, dynamics.row_counts(), threshold, heldout, dict(paths),
                   batch_size)

    def docs(self) -> Iterator[List[Doc]]:
        """The corpus, a batch of docs at a time, in its order."""
        batch: List[Doc] = []
        for doc in iter_docbin(self.corpus, Vocab()):
            batch.append(doc)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def batches(self, statistics: Dict[Any, Any]) -> Iterator[Evidence]:
        """Every batch's evidence, sharing `statistics`; the docs are checked
        against the recording (every doc once, the same entities)."""
        seen = numpy.zeros(len(self.dynamics.doc_ids), dtype=bool)
        first = 0
        for docs in self.docs():
            positions = self.positions(docs, first, seen)
            order = numpy.argsort(positions, kind="stable")
            table, rows = self.dynamics.batch(positions[order], self.bases)
            if not self.checked:
                self.check(table, [docs[i] for i in order], first)
            yield Evidence(corpus=self.corpus, docs=docs, samples=table, dynamics=table, threshold=self.threshold,
                           heldout=self.heldout, paths=self.paths, statistics=statistics, first_doc=first,
                           rows=rows)
            first += len(docs)
        if not seen.all():
            raise DynCleanError(f"{self.corpus}: {first} docs, the dynamics have {len(seen)}: another corpus?")
        self.checked = True

    def positions(self, docs: List[Doc], first: int, seen: numpy.ndarray) -> numpy.ndarray:
        """The recording's position of each doc (its ids are sorted), each doc once."""
        ids = self.dynamics.doc_ids
        out = numpy.zeros(len(docs), dtype="int64")
        for i, doc in enumerate(docs, first):
            did = doc_id(doc, f"{self.corpus}: doc {i}")
            p = bisect_left(ids, did)
            if p == len(ids) or ids[p] != did:
                raise DynCleanError(f"{self.corpus}: doc {i} (id {did}) is not in the dynamics: another corpus?")
            if seen[p]:
                raise DynCleanError(f"{self.corpus}: doc {i}: duplicate sample id {did!r}")
            seen[p] = True
            out[i - first] = p
        return out

    def check(self, table: Dynamics, docs: List[Doc], first: int) -> None:
        """The batch's rows are the candidates of its docs, with their entities
        and ignored spans (what the recording's fingerprint holds, doc by doc)."""
        meta = self.dynamics.meta
        index = SampleIndex.from_docs(docs, self.dynamics.labels, max_span_length=int(meta["max_span_length"]),
                                      spans_key=table.spans_key, ignore_key=table.ignore_key, fingerprint=False)
        kept = FLAG_POSITIVE | FLAG_IGNORED
        same = len(index) == len(table) and all(numpy.array_equal(getattr(index, name), getattr(table, name))
                                                for name in ("doc", "start", "end"))
        if same:
            positive = (table.flags & FLAG_POSITIVE) > 0
            same = numpy.array_equal(index.flags & kept, table.flags & kept) and numpy.array_equal(
                index.label[positive], table.label[positive])
        if not same:
            raise DynCleanError(f"{self.corpus}: a doc among docs {first}-{first + len(docs) - 1} differs from the "
                                "corpus the dynamics were recorded on (other labels or tokens?)")


class Passes:
    """Passes over the batches until one asks for no count it lacks; the
    counts it needed are summed over every batch of the passes before."""

    def __init__(self, batches: Callable[[Dict[Any, Any]], Iterator[Evidence]]) -> None:
        self.batches = batches
        self.statistics: Dict[Any, Any] = {}
        self.pending: Dict[Any, Count] = {}  # asked for by a batch after the first: counted from the next pass

    def run(self, visit: Callable[[Evidence], None], restart: Callable[[], None]) -> int:
        """Call `restart`, then `visit` on every batch, pass after pass, until a
        pass visits every batch; returns the number of passes."""
        for number in range(1, MAX_PASSES + 1):
            started = time.time()
            restart()
            counting: Dict[Any, Count] = dict(self.pending)
            sums: Dict[Any, Any] = {}
            failed: Set[Any] = set()
            complete, docs = True, 0
            for i, batch in enumerate(self.batches(self.statistics)):
                if (docs + len(batch.docs)) // PROGRESS > docs // PROGRESS:
                    msg.text(f"Pass {number}: {docs + len(batch.docs):,} docs ({time.time() - started:.0f}s)")
                docs += len(batch.docs)
                self.count(batch, counting, sums, failed, first=i == 0)
                if not complete:
                    continue
                try:
                    visit(batch)
                except Missing as missing:
                    complete = False
                    self.ask(missing.counts, counting if i == 0 else None)
                    if i == 0:
                        self.count(batch, counting, sums, failed, first=True)
            done = [key for key in counting if key not in failed]
            for key in done:
                self.statistics[key] = sums[key]
                self.pending.pop(key, None)
            msg.info(f"Pass {number} over {docs:,} docs ({time.time() - started:.1f}s): "
                     + (f"counted {', '.join(map(label, done))}" if done else "no counts")
                     + ("" if complete else "; cleaning in the next pass"))
            if complete:
                return number
            if not done and not self.pending:
                raise DynCleanError("a detector asks for corpus counts it cannot make (batch_size)")
        raise DynCleanError(f"a detector still asks for new corpus counts after {MAX_PASSES} passes (batch_size)")

    def ask(self, counts: Dict[Any, Count], counting: Optional[Dict[Any, Count]]) -> None:
        """Note counts asked for: counted in this pass where the first batch
        asked (`counting`), in the next otherwise."""
        for key, count in counts.items():
            if key in self.statistics:
                continue
            if counting is not None and key not in counting:
                counting[key] = count
            elif counting is None:
                self.pending.setdefault(key, count)

    def count(self, batch: Evidence, counting: Dict[Any, Count], sums: Dict[Any, Any], failed: Set[Any], *,
              first: bool) -> None:
        """Add `batch`'s part of every count under way (one that needs another
        count first fails this pass and asks for it)."""
        done: Set[Any] = set(key for key in sums if key in counting) if first else set()
        while True:
            todo = [key for key in counting if key not in done and key not in failed]
            if not todo:
                return
            for key in todo:
                done.add(key)
                try:
                    sums[key] = add_up(sums.get(key), counting[key](batch))
                except Missing as missing:
                    failed.add(key)
                    self.pending.setdefault(key, counting[key])
                    self.ask(missing.counts, counting if first else None)


def label(key: Any) -> str:
    """A count's name for the progress lines."""
    return str(key[0] if isinstance(key, tuple) else key)
