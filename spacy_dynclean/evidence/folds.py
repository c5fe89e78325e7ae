"""Out-of-fold predictions: every span scored by a model that never trained
on its sentence, nor (entity-disjoint, as CrossWeigh) on any sentence with
one of its sentence's entity forms.

The entity forms (lower-cased distant entity texts) are split at random into
K groups; fold i trains on the sentences that hold no form of group i and
predicts the sentences that hold one (a sentence with forms of several groups
is predicted by several folds, averaged; one without entities goes to one
fold at random). `--mode random` splits sentences instead. The predictions
are the full label distribution of every candidate span, aligned with the
corpus's sample table, in FOLDER/folds.npz.
"""
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from spacy_dynclean.convert import read_docbin, write_docbin
from spacy_dynclean.outputs import Outputs
from spacy_dynclean.recording.dynamics import corpus_samples
from spacy_dynclean.recording.samples import doc_id, gold_spans
from spacy_dynclean.util import DEFAULT_IGNORE_KEY, DEFAULT_SPANS_KEY, DynCleanError, PathLike

FILE_NAME = "folds.npz"
FORMAT = "spacy-dynclean.folds.v1"
MODES = ("entity-disjoint", "random")
#: Each fold trains a pipeline: more than this is almost surely a typo.
MAX_FOLDS = 20


class FoldPredictions:
    """Mean out-of-fold probabilities per sample (`probs`, samples x (labels +
    non-entity)), and how many folds predicted each sample (`count`, 0 where
    none did)."""

    def __init__(self, meta: Dict[str, Any], probs: numpy.ndarray, count: numpy.ndarray) -> None:
        self.meta = meta
        self.probs = probs
        self.count = count

    @property
    def labels(self) -> List[str]:
        return list(self.meta["labels"])

    def to_disk(self, path: PathLike) -> None:
        """Write FOLDER/folds.npz (`path` is the folder, a temporary one in a transaction)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with open(path / FILE_NAME, "wb") as f:
            numpy.savez(f, meta=numpy.frombuffer(json.dumps(self.meta).encode("utf8"), dtype="uint8"),
                        probs=self.probs, count=self.count)

    @classmethod
    def from_disk(cls, path: PathLike) -> "FoldPredictions":
        path = Path(path)
        file = path if path.suffix == ".npz" else path / FILE_NAME
        if not file.exists():
            raise DynCleanError(f"{file}: no out-of-fold predictions (run `python -m spacy_dynclean folds`)")
        try:
            with numpy.load(file, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf8"))
                probs, count = data["probs"], data["count"]
        except Exception as e:
            raise DynCleanError(f"{file}: not a readable folds file, truncated or corrupt? ({type(e).__name__})") \
                from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise DynCleanError(f"{file}: not a folds file (format {FORMAT!r} expected)")
        n = int(meta.get("n_samples", -1))
        if probs.shape != (n, len(meta.get("labels", [])) + 1) or count.shape != (n,):
            raise DynCleanError(f"{file}: arrays of shape {probs.shape} and {count.shape} do not fit {n} samples")
        if not numpy.isfinite(probs.astype("float32")).all():
            raise DynCleanError(f"{file}: probabilities are NaN or infinite")
        return cls(meta, probs, count)

    def check_matches(self, samples: Any, where: str) -> None:
        if self.meta.get("fingerprint") != samples.meta.get("fingerprint") or self.labels != samples.labels:
            raise DynCleanError(f"{where}: the out-of-fold predictions were made on another corpus or labels")


def form_groups(docs: Sequence[Doc], k: int, rng: numpy.random.Generator, spans_key: str = DEFAULT_SPANS_KEY
                ) -> Dict[str, int]:
    """A random group (0..k-1) for every entity form (lower-cased text)."""
    forms = sorted({s.text.lower() for d in docs for s in gold_spans(d, spans_key)})
    return dict(zip(forms, rng.integers(0, k, size=len(forms)).tolist()))


def assign_folds(docs: Sequence[Doc], k: int, *, mode: str = "entity-disjoint", seed: int = 0,
                 spans_key: str = DEFAULT_SPANS_KEY) -> List[List[int]]:
    """Per doc, the folds that predict it (see the module docstring)."""
    if mode not in MODES:
        raise DynCleanError(f"--mode must be one of {MODES}, not {mode!r}")
    if k < 2:
        raise DynCleanError(f"--folds must be at least 2, not {k}")
    if k > len(docs):
        raise DynCleanError(f"--folds {k}: more folds than the corpus has docs ({len(docs)}); each fold trains a model")
    if k > MAX_FOLDS:
        raise DynCleanError(f"--folds {k}: at most {MAX_FOLDS} folds (each trains a model)")
    rng = numpy.random.default_rng(seed)
    if mode == "random":
        return [[int(f)] for f in rng.integers(0, k, size=len(docs))]
    group = form_groups(docs, k, rng, spans_key)
    out = []
    for doc in docs:
        folds = sorted({group[s.text.lower()] for s in gold_spans(doc, spans_key)})
        out.append(folds or [int(rng.integers(0, k))])
    return out


def predict_spans(nlp: Any, docs: Sequence[Doc], component: str = "dynclean_ner", batch_size: int = 64
                  ) -> List[numpy.ndarray]:
    """The probabilities of every candidate span of each doc (suggester order)."""
    pipe = nlp.get_pipe(component)
    names = nlp.pipe_names
    disable = names[names.index(component):]
    out: List[numpy.ndarray] = []
    texts = [Doc(nlp.vocab, words=[t.text for t in d]) for d in docs]
    for start in range(0, len(texts), batch_size):
        batch = list(nlp.pipe(texts[start: start + batch_size], disable=disable))
        indices, scores = pipe.predict(batch)
        scores = pipe.model.ops.to_numpy(scores)
        lengths = pipe.model.ops.to_numpy(indices.lengths)
        offset = 0
        for n in lengths:
            out.append(scores[offset: offset + int(n), : len(pipe.labels) + 1])
            offset += int(n)
    return out


def run_folds(backbone: str, corpus: PathLike, dev: PathLike, output: PathLike, *, k: int = 4,
              mode: str = "entity-disjoint", seed: int = 0, overrides: Optional[List[str]] = None,
              config_dir: PathLike = "configs", threads: int = 0, max_span_length: int = 8) -> Dict[str, Any]:
    """Train the K fold models (with the `train` command's backbone configs
    and `overrides`, e.g. ["--training.max_epochs", "3"]) and write the
    out-of-fold predictions to the folder `output`."""
    import spacy

    output = Path(output)
    with Outputs([output], [corpus, dev]) as outputs:
        work = outputs.folder(output)
        docs = read_docbin(corpus, Vocab())
        if not docs:
            raise DynCleanError(f"{corpus}: empty corpus")
        samples = corpus_samples(docs, max_span_length, DEFAULT_SPANS_KEY, DEFAULT_IGNORE_KEY, corpus)
        folds_of = assign_folds(docs, k, mode=mode, seed=seed)
        position = {d: i for i, d in enumerate(samples.doc_ids)}
        bases = samples.doc_bases
        probs = numpy.zeros((len(samples), len(samples.labels) + 1), dtype="float32")
        count = numpy.zeros(len(samples), dtype="int8")
        seconds = []
        for i in range(k):
            train_docs = [d for d, f in zip(docs, folds_of) if i not in f]
            held = [d for d, f in zip(docs, folds_of) if i in f]
            fold_dir = work / f"fold{i}"
            fold_dir.mkdir()
            write_docbin(train_docs, fold_dir / "train.spacy")
            msg.info(f"fold {i + 1}/{k}: training on {len(train_docs):,} docs, predicting {len(held):,}")
            start = time.time()
            cmd = [sys.executable, "-m", "spacy_dynclean", "train", backbone, str(fold_dir / "model"),
                   "--config-dir", str(config_dir), "--paths.train", str(fold_dir / "train.spacy"),
                   "--paths.dev", str(dev), "--system.seed", str(seed), "--threads", str(threads),
                   "--components.dynclean_ner.max_span_length", str(max_span_length), *(overrides or [])]
            with open(fold_dir / "train.log", "w") as log:
                result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
            if result.returncode != 0:
                tail = [line for line in (fold_dir / "train.log").read_text().splitlines() if line.strip()]
                raise DynCleanError(f"fold {i}: the training failed: {tail[-1] if tail else 'no output'}")
            seconds.append(round(time.time() - start, 1))
            nlp = spacy.load(fold_dir / "model" / "model-best")
            for doc, p in zip(held, predict_spans(nlp, held)):
                base = int(bases[position[doc_id(doc)]])
                probs[base: base + len(p)] += p
                count[base: base + len(p)] += 1
            (fold_dir / "train.spacy").unlink()
            shutil.rmtree(fold_dir / "model")  # the predictions are what is kept
        covered = count > 0
        probs[covered] /= count[covered, None]
        meta = {"format": FORMAT, "labels": samples.labels, "fingerprint": samples.meta["fingerprint"],
                "n_samples": len(samples), "folds": k, "mode": mode, "seed": seed, "backbone": backbone,
                "overrides": list(overrides or []), "train_seconds": seconds}
        FoldPredictions(meta, probs.astype("float16"), count).to_disk(work)
    msg.good(f"Wrote out-of-fold predictions of {int(covered.sum()):,} samples to {output} "
             f"({sum(seconds):.0f}s of training)")
    return meta
