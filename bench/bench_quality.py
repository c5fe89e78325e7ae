"""Does cleaning pay? Test entity P/R/F1 of pipelines trained on the distant
labels (noisy), the cleaned labels (default settings: dynamics + held-out
evidence of the noisy pipeline on the gold dev set), the cleaned labels from
the dynamics alone (cleaned_dyn), positives flagged by both the dynamics and
the evidence (cleaned_both, with --variants), the distant labels with exactly the real
errors removed (oracle; with --oracle-split also only the wrong positives or
only the missed entities), and the gold train labels, same config and seed;
the cleaned corpora are retrained with `dynclean_ner` and with spaCy's stock
`ner` (--ner-variants: which ones; `gold` there trains the stock ner on the
gold labels too, its own ceiling).

    python bench/bench_quality.py --dataset wiki --backbone cnn --seeds 0,1,2

Every run is cached under bench/work/quality/; results go to
bench/results/quality-<dataset>-<backbone>.json.
"""
import argparse
import functools
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from common import RESULTS, ROOT, WORK, clean_corpus, corpus, save, wrong_labels
from spacy.tokens import Doc

from spacy_dynclean.evaluation.audit import audit
from spacy_dynclean.convert import read_docbin, save_docbin
from spacy_dynclean.cleaning.contract import Flags
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.evidence.heldout import run_heldout
from spacy_dynclean.cleaning.strategies import clean_docs

ANCHORS = {
    "dynclean_paper_gain_f1": "+3.18 to +8.95 (RoBERTa-base, GPU)",
    "bond_test_f1": {"conll03": 0.8148, "webpage": 0.6574, "wiki": 0.6007},
}


def sh(cmd: List[str], log: Path) -> float:
    start = time.time()
    with log.open("w") as f:
        result = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"failed ({log}): {' '.join(cmd)}")
    return time.time() - start


def trained(out: Path) -> bool:
    """A finished training (spaCy writes model-best and model-last at its
    first evaluation, so they alone do not say that a run is done). A run
    stopped by hand once it had recorded the epochs needed carries a STOPPED
    file that says so."""
    log = out.parent / f"{out.name}.log"
    done = (log.exists() and "Saved pipeline to output directory" in log.read_text()) or (out / "STOPPED").exists()
    return (out / "model-best").exists() and done


def train(backbone: str, out: Path, train_path: Path, dataset: str, seed: int, epochs: int,
          component: str = "dynclean_ner", dynamics: Path = None, extra: List[str] = ()) -> float:
    seconds = out.parent / f"{out.name}.seconds"
    if trained(out):  # the wall time of the run that made it, when it was recorded
        return float(seconds.read_text()) if seconds.exists() else 0.0
    cmd = [sys.executable, "-m", "spacy_dynclean", "train", backbone, str(out), "--component", component,
           "--paths.train", str(train_path), "--paths.dev", str(corpus(dataset, "dev")),
           "--training.max_epochs", str(epochs), "--system.seed", str(seed)]
    if dynamics is not None:
        cmd += ["--paths.dynamics", str(dynamics)]
    cmd += list(extra)
    out.parent.mkdir(parents=True, exist_ok=True)
    took = sh(cmd, out.parent / f"{out.name}.log")
    seconds.write_text(f"{took:.1f}")
    return took


def evaluate(model: Path, dataset: str) -> Dict[str, float]:
    out = model / "test.json"
    if not out.exists():
        sh([sys.executable, "-m", "spacy", "evaluate", str(model / "model-best"), str(corpus(dataset, "test")),
            "--output", str(out)], model / "evaluate.log")
    data = json.loads(out.read_text())
    scores = {k: round(float(data[k]), 4) for k in ("ents_p", "ents_r", "ents_f")}
    # the dev F1 of the checkpoint spaCy kept (model-best is chosen on dev): what choices are made on
    meta = json.loads((model / "model-best" / "meta.json").read_text())
    dev = (meta.get("performance") or {}).get("ents_f")
    if dev is not None:
        scores["dev_f"] = round(float(dev), 4)
    return scores


AUDIT_KEYS = ("flagged_positives", "fp_precision", "fp_recall", "flagged_negatives", "fn_precision", "fn_recall",
              "labels_f1_before", "labels_f1_after", "labels_f1_all", "docs_dropped", "changes")


def heldout_evidence(base: Path, dataset: str) -> Path:
    """The noisy pipeline's held-out evidence on the gold dev set, written
    once beside the run of a seed."""
    path = base / "heldout.json"
    if not path.exists():
        run_heldout(base / "noisy" / "model-best", corpus(dataset, "dev"), path)
    return path


def override_args(override: str) -> List[str]:
    """`section.key=value` as the two arguments of a `spacy train` override."""
    key, sep, value = override.partition("=")
    if not sep or not key or not value:
        raise SystemExit(f"--record-override {override!r}: expected section.key=value")
    return [f"--{key}", value]


def recording_args(base: Path, overrides: Optional[Sequence[str]] = None) -> List[str]:
    """The `spacy train` overrides of a seed's recording runs (noisy and
    threshold). Given, they are saved beside the run (a cached run made with
    other overrides is refused); None reads the saved ones, for the scripts
    that add threshold runs to a bench_quality run."""
    path = base / "record_overrides.json"
    saved = json.loads(path.read_text()) if path.exists() else None
    if overrides is None:
        overrides = saved or []
    elif saved is not None and saved != list(overrides):
        raise SystemExit(f"{base}: recorded with --record-override {saved}, not {list(overrides)}; "
                         "use another --tag")
    else:
        base.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(list(overrides)))
    return [arg for o in overrides for arg in override_args(o)]


def train_threshold(backbone: str, base: Path, dataset: str, seed: int, epochs: int, name: str = "threshold",
                    extra: Sequence[str] = ()) -> float:
    """A threshold-sample run of a seed (dynamics in base/dyn-<name>), with the
    seed's recording overrides; `extra`: further overrides (e.g. the
    threshold label)."""
    return train(backbone, base / name, corpus(dataset, "train-ds"), dataset, seed, epochs,
                 dynamics=base / f"dyn-{name}",
                 extra=["--components.dynclean_ner.threshold_samples", "true", *extra, *recording_args(base)])


def results_name(dataset: str, backbone: str, tag: str) -> str:
    return f"quality-{dataset}-{backbone.replace('/', '_')}{tag}"


@functools.lru_cache(maxsize=4)
def train_docs(dataset: str, split: str) -> List[Doc]:
    """The distant or gold train docs, read once for every audit of a run
    (`audit` only reads them)."""
    return read_docbin(corpus(dataset, split))


def audit_corpus(dataset: str, cleaned: Path) -> Dict[str, float]:
    """The audit of a cleaned corpus against the gold train labels (benchmark
    only), cached beside it."""
    out = cleaned.with_suffix(".audit.json")
    if not out.exists() or "labels_f1_all" not in json.loads(out.read_text()):  # made before 0.2's measures
        a = audit(train_docs(dataset, "train-ds"), read_docbin(cleaned), train_docs(dataset, "train-gs"))
        out.write_text(json.dumps({k: round(a[k], 4) if isinstance(a[k], float) else a[k] for k in AUDIT_KEYS}))
    return json.loads(out.read_text())


def oracle_corpus(dataset: str, dyn: Dynamics, path: Path, kinds: str = "both") -> None:
    """Flag exactly the samples whose distant label differs from gold (gold is
    used here, in a benchmark, and never by `clean`); `kinds`: both,
    positives or negatives."""
    if path.exists():
        return
    wrong = wrong_labels(dyn, dataset)
    flags = Flags(positive=wrong & dyn.positive & (kinds != "negatives"),
                  negative=wrong & ~dyn.positive & (kinds != "positives"))
    docs = read_docbin(corpus(dataset, "train-ds"))
    cleaned = clean_docs(docs, dyn, flags).docs
    save_docbin(cleaned, path)


VARIANTS = ("cleaned", "cleaned_dyn", "cleaned_both", "goldfree", "goldfree_st", "goldfree_st2", "combined",
            "combined_st", "goldfree2", "combined2", "goldfree3", "combined3", "combined4", "combined4_st",
            "combined4_pos", "learned", "goldfree5", "combined5", "learned_pos", "goldfree6", "combined6",
            "goldfree7", "goldfree8", "goldfree9", "goldfree10", "goldfree11", "goldfree_oracle", "oracle", "gold")
DEFAULT_VARIANTS = ("cleaned", "cleaned_dyn", "oracle", "gold")
AUM_VARIANTS = ("cleaned", "cleaned_dyn", "cleaned_both")  # those that read the threshold run
DYNAMICS_ONLY = {"decision.positives": ["aum"], "decision.negatives": ["aum"]}
# the presets' structure detector without loose edges and collocations: name_structure.v1, as the first runs had it
STRUCTURE_V1 = {"detectors.structure.detector.edges": False, "detectors.structure.detector.collocations": False,
                "detectors.structure.detector.title_case": False}
# the presets' structure detector without the title-case sentences: name_structure.v2, as the second runs had it
STRUCTURE_V2 = {"detectors.structure.detector.title_case": False}
# the combined preset's dev evidence without the entity-share rule: heldout_forms.v1, as the runs before it had it
HELDOUT_V1 = {"detectors.heldout.min_entity_share": 0.0}
# the presets before the dynamics entered them (round 9): no learned_negatives detector in the decision
GOLDFREE_R8 = {"decision.negatives": ["structure"], "decision.hand_off": {}}
COMBINED_R8 = {"decision.negatives": ["heldout", "structure"], "decision.hand_off": {}}
# the presets' dynamics flagging missed entities only (no hand-off of the positives where the structure abstains):
# the presets as they are (goldfree5, combined5)
NEGATIVES_ONLY = {"decision.hand_off": {}}
HAND_OFF = {"decision.hand_off": {"structure": "learned"}, "detectors.learned.positives": True}
CLEANED = {  # name: (uses the held-out evidence, cleaning config, overrides)
    "cleaned": (True, "default", {}),
    "cleaned_dyn": (False, "default", DYNAMICS_ONLY),
    "cleaned_both": (True, "default", {"decision.positives": ["aum", "heldout"]}),
    "goldfree": (False, "goldfree", {**STRUCTURE_V1, **GOLDFREE_R8}),  # the structure of the text, corrected
    # dev evidence, AUM and the structure, corrected
    "combined": (True, "combined", {**STRUCTURE_V1, **HELDOUT_V1, **COMBINED_R8}),
    # the gold-free preset with structure v2 (loose edges too)
    "goldfree2": (False, "goldfree", {**STRUCTURE_V2, **GOLDFREE_R8}),
    "combined2": (True, "combined", {**STRUCTURE_V2, **HELDOUT_V1, **COMBINED_R8}),  # the combined preset, v2
    "goldfree3": (False, "goldfree", GOLDFREE_R8),  # the gold-free preset of round 8 (structure v3: title case too)
    "combined3": (True, "combined", {**HELDOUT_V1, **COMBINED_R8}),  # structure v3, heldout_forms.v1
    "combined4": (True, "combined", COMBINED_R8),  # the combined preset of round 8 (heldout_forms.v2)
    # the combined preset flagging no non-entity span: only flagged entities are corrected or masked (for the stock
    # ner a masked negative costs the O supervision of its tokens, for the span component one candidate)
    "combined4_pos": (True, "combined", {"decision.negatives": []}),
    # round 9: the training dynamics in the presets (learned_negatives.v1)
    # dynamics alone, missed entities only
    "learned": (False, "goldfree", {"decision.positives": [], "decision.negatives": ["learned"], **NEGATIVES_ONLY}),
    "goldfree5": (False, "goldfree", NEGATIVES_ONLY),  # structure and the dynamics' missed entities (round 9's preset)
    "combined5": (True, "combined", {**NEGATIVES_ONLY, "detectors.learned.positives": False}),  # no hand-off
    # goldfree5, and the dynamics also flag distant entities that an overlapping span beats, everywhere
    "learned_pos": (False, "goldfree", {"decision.positives": ["structure", "learned"],
                                        "detectors.learned.positives": True, **NEGATIVES_ONLY}),
    # goldfree5 / combined5, and where the structure abstains the dynamics' positives too (hand-off); combined6 is
    # the combined preset as it is
    "goldfree6": (False, "goldfree", HAND_OFF),
    "combined6": (True, "combined", HAND_OFF),
    # round 11: where the structure abstains, the form counts (form_share.v1) flag its distant entities (the
    # gold-free preset as it is; on cased corpora the same corpus as goldfree5)
    "goldfree7": (False, "goldfree", {}),
    # the same without the dynamics' missed entities (is their imprecision on lower-cased text a cost?)
    "goldfree8": (False, "goldfree", {"decision.negatives": ["structure"]}),
    # goldfree7 with the dynamics masking more of the missed entities (half the cut, overlapping spans kept)
    "goldfree9": (False, "goldfree", {"detectors.learned.min_ratio": 0.5, "detectors.learned.suppress": False}),
    # round 16, -lc corpora only: goldfree7 and the dynamics also flag distant entities an overlapping span beats
    # (masked), beside the form counts (on cased corpora this would flag them there too: not run there)
    "goldfree10": (False, "goldfree", {"detectors.learned.positives": True,
                                       "decision.positives": ["structure", "learned"]}),
    # round 17: goldfree7 with the dynamics' cut at a quarter of the prior, overlapping spans kept (goldfree9 wider)
    "goldfree11": (False, "goldfree", {"detectors.learned.min_ratio": 0.25, "detectors.learned.suppress": False}),
}
# self-training: the variant's retrained pipeline fills the masked regions of its corpus, a student is trained;
# a second round: the student fills the same masked regions, a second student is trained
SELF_TRAINED = {"goldfree_st": "goldfree", "combined_st": "combined", "goldfree_st2": "goldfree_st",
                "combined4_st": "combined4", "combined4_fe": "combined4"}
# fills that only add the teacher's entities (`fill --keep-masked`): the rest of each masked region stays masked
KEEP_MASKED = {"combined4_fe"}


def fill_corpus(base: Path, student: str) -> Path:
    """The cleaned corpus with its masked regions labelled by the teacher of
    `student` (the cleaned variant's pipeline, or for a second round the
    first student), written once."""
    from spacy_dynclean.cleaning.selftrain import run_fill

    teacher = SELF_TRAINED[student]
    cleaned = teacher.split("_st")[0]  # the masked corpus of the round's first teacher
    out = base / f"train-{student}.spacy"
    if not out.exists():
        run_fill(base / teacher / "model-best", base / f"train-{cleaned}.spacy", out,
                 keep_masked=student in KEEP_MASKED)
    return out


def correction_oracle(dataset: str, base: Path, flagged_by: str) -> Path:
    """Gold labels written exactly where `flagged_by` flagged (the ceiling of
    correcting what it found): every flagged sample's tokens, and the gold
    entities overlapping them, take the gold annotation; elsewhere the
    distant labels stay (benchmark only)."""
    from spacy.tokens import Span

    out = base / f"train-{flagged_by}_oracle.spacy"
    if out.exists():
        return out
    report = json.loads((base / f"train-{flagged_by}.report.json").read_text())
    dyn = Dynamics.from_disk(base / "dyn-noisy")
    rows = sorted(report["flagged_rows"]["positives"] + report["flagged_rows"]["negatives"])
    regions: Dict[str, set] = {}
    for row in rows:
        did = dyn.doc_ids[int(dyn.doc[row])]
        regions.setdefault(did, set()).update(range(int(dyn.start[row]), int(dyn.end[row])))
    gold = {d.user_data["dynclean_id"]: d for d in train_docs(dataset, "train-gs")}
    docs = []
    for doc in train_docs(dataset, "train-ds"):
        new = doc.copy()
        touched = regions.get(doc.user_data["dynclean_id"])
        if touched:
            g_ents = [(e.start, e.end, e.label_) for e in gold[doc.user_data["dynclean_id"]].ents
                      if touched.intersection(range(e.start, e.end))]
            region = set(touched).union(*(range(s, e) for s, e, _ in g_ents))
            ents = [(s.start, s.end, s.label_) for s in doc.spans["sc"]
                    if not region.intersection(range(s.start, s.end))]
            spans = [Span(new, s, e, label=lab) for s, e, lab in sorted(ents + g_ents)]
            new.set_ents(spans, default="outside")
            new.spans["sc"] = spans
        docs.append(new)
    save_docbin(docs, out)
    return out


def run_seed(dataset: str, backbone: str, seed: int, epochs: int, with_ner: bool,
             oracle_split: bool = False, variants: Sequence[str] = DEFAULT_VARIANTS, tag: str = "",
             threshold_epochs: int = 0, record_overrides: Sequence[str] = (),
             ner_variants: Sequence[str] = ()) -> Dict[str, object]:
    base = WORK / "quality" / dataset / (backbone.replace("/", "_") + tag) / f"seed{seed}"
    record = recording_args(base, record_overrides)
    times: Dict[str, float] = {}
    times["noisy"] = train(backbone, base / "noisy", corpus(dataset, "train-ds"), dataset, seed, epochs,
                           dynamics=base / "dyn-noisy", extra=record)
    # the AUM thresholds: only the 0.1 default's variants read them (the presets do not)
    with_aum = any(v in variants for v in AUM_VARIANTS)
    if with_aum:
        times["threshold"] = train_threshold(backbone, base, dataset, seed, threshold_epochs or epochs)
    heldout_evidence(base, dataset)
    reports, audits = {}, {}
    for name, (with_evidence, config, overrides) in CLEANED.items():
        # cleaned_dyn whenever the AUM is read (its flag counts are reported); others when asked for or cached
        if name not in variants and not (name == "cleaned_dyn" and with_aum) \
                and not (base / f"train-{name}.spacy").exists():
            continue
        path = base / f"train-{name}.spacy"
        report_path = base / f"train-{name}.report.json"
        if path.exists() and "detectors" not in json.loads(report_path.read_text()):
            # written by the 0.1 command line (the same corpus, byte for byte): its report is remade
            clean_corpus(dataset, base, base / f"remade-{name}.spacy", config, with_evidence, overrides, quiet=True)
            if (base / f"remade-{name}.spacy").read_bytes() != path.read_bytes():
                raise SystemExit(f"{path}: the 0.1 corpus differs from the one the config makes now")
            for suffix in (".spacy", ".report.json", ".report.md", ".cfg"):
                (base / f"remade-{name}{suffix}").replace(base / f"train-{name}{suffix}")
        if not path.exists():
            clean_corpus(dataset, base, path, config, with_evidence, overrides)
        reports[name] = json.loads((base / f"train-{name}.report.json").read_text())
        audits[name] = audit_corpus(dataset, path)
        if name in variants:
            times[name] = train(backbone, base / name, path, dataset, seed, epochs)
    for student, teacher in SELF_TRAINED.items():
        if student in variants and teacher.split("_st")[0] in reports:
            path = fill_corpus(base, student)
            audits[student] = audit_corpus(dataset, path)
            times[student] = train(backbone, base / student, path, dataset, seed, epochs)
    if "goldfree_oracle" in variants and "goldfree" in reports:
        path = correction_oracle(dataset, base, "goldfree")
        audits["goldfree_oracle"] = audit_corpus(dataset, path)
        times["goldfree_oracle"] = train(backbone, base / "goldfree_oracle", path, dataset, seed, epochs)
    report = reports.get("cleaned", {})
    dyn = Dynamics.from_disk(base / "dyn-noisy")
    oracles = (["oracle"] if "oracle" in variants else []) + (["oracle-pos", "oracle-neg"] if oracle_split else [])
    for name in oracles:
        kinds = {"oracle": "both", "oracle-pos": "positives", "oracle-neg": "negatives"}[name]
        oracle_corpus(dataset, dyn, base / f"train-{name}.spacy", kinds)
        times[name] = train(backbone, base / name, base / f"train-{name}.spacy", dataset, seed, epochs)
    if "gold" in variants:
        times["gold"] = train(backbone, base / "gold", corpus(dataset, "train-gs"), dataset, seed, epochs)
    names = ["noisy"] + [v for v in VARIANTS if v in variants and v not in ("oracle", "gold")] + oracles + \
        (["gold"] if "gold" in variants else [])
    # trainings of this seed cached by an earlier run with more --variants are reported too
    names += [v for v in VARIANTS + ("oracle-pos", "oracle-neg") if v not in names and trained(base / v)]
    scores = {name: evaluate(base / name, dataset) for name in names}
    if with_ner:
        retrained = [v for v in (*CLEANED, *SELF_TRAINED) if v in (ner_variants or variants)]
        gold = ["gold"] if "gold" in (ner_variants or variants) else []  # the stock ner's own ceiling
        for name in ["noisy", *retrained, *gold]:
            path = {"noisy": corpus(dataset, "train-ds"), "gold": corpus(dataset, "train-gs")}.get(
                name, base / f"train-{name}.spacy")
            times[f"{name}_ner"] = train(backbone, base / f"{name}_ner", path, dataset, seed, epochs,
                                         component="ner")
            scores[f"{name}_ner"] = evaluate(base / f"{name}_ner", dataset)
    run = {"seed": seed, "scores": scores, "train_seconds": {k: round(v, 1) for k, v in times.items()},
           "audit": audits}
    if "cleaned" in reports and "cleaned_dyn" in reports:
        run.update({
            "flagged_positives": report["flagged_positives"], "flagged_negatives": report["flagged_negatives"],
            "heldout": report["detectors"].get("heldout"),
            "flagged_dynamics_only": {"positives": reports["cleaned_dyn"]["flagged_positives"],
                                      "negatives": reports["cleaned_dyn"]["flagged_negatives"]},
            "thresholds": report["detectors"]["aum"]["thresholds"], "k": report["detectors"]["aum"]["k"]})
    return run


def summarise(runs: List[Dict[str, object]]) -> Dict[str, Dict[str, float]]:
    """Mean and sd of test F1 per training over the seeds that have it, and
    the share of the gap closed over the seeds that have both it and gold."""
    out: Dict[str, Dict[str, float]] = {}
    names = list(dict.fromkeys(name for r in runs for name in r["scores"]))
    for name in names:
        f1 = [r["scores"][name]["ents_f"] for r in runs if name in r["scores"]]
        out[name] = {"f1_mean": round(statistics.mean(f1), 4),
                     "f1_sd": round(statistics.stdev(f1), 4) if len(f1) > 1 else 0.0, "f1": f1,
                     "seeds": [r["seed"] for r in runs if name in r["scores"]]}
    # the stock ner's corpora against its own noisy and gold trainings (suffix _ner)
    for name, suffix in [(n, s) for s in ("", "_ner") for n in (*CLEANED, *SELF_TRAINED, "goldfree_oracle")]:
        keys = ("noisy" + suffix, name + suffix, "gold" + suffix)
        both = [r for r in runs if all(k in r["scores"] for k in keys)]
        if suffix and not both:
            continue
        n, c, g = (statistics.mean(r["scores"][k]["ents_f"] for r in both) if both else None for k in keys)
        out["gap_closed" if name + suffix == "cleaned" else f"gap_closed_{name}{suffix}"] = {
            # undefined when gold does not beat noisy (a run too short to learn anything)
            "value": round((c - n) / (g - n), 3) if both and g > n else None,
            "seeds": [r["seed"] for r in both]}
    return out


def saved_runs(dataset: str, backbone: str, tag: str, epochs: int, skip: set,
               record_overrides: Sequence[str] = ()) -> List[Dict[str, object]]:
    """The runs of other seeds in the saved results file, so that a seed can be
    added without redoing (or losing) the others; refuses a file made with
    another number of epochs."""
    path = RESULTS / f"{results_name(dataset, backbone, tag)}.json"
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    if saved["epochs"] != epochs:
        raise SystemExit(f"{path}: saved with --epochs {saved['epochs']}, not {epochs}; use another --tag")
    if saved.get("record_overrides", []) != list(record_overrides):
        raise SystemExit(f"{path}: saved with --record-override {saved.get('record_overrides', [])}, "
                         f"not {list(record_overrides)}; use another --tag")
    return [r for r in saved["runs"] if r["seed"] not in skip]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", default="wiki")
    p.add_argument("--backbone", default="cnn")
    p.add_argument("--seeds", default="0")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threshold-epochs", type=int, default=0,
                   help="epochs of the threshold run (0: --epochs); it needs only the k epochs that are averaged")
    p.add_argument("--tag", default="", help="suffix of the work folder and results file, e.g. --tag=-e10")
    p.add_argument("--no-ner", action="store_true", help="skip the stock-ner retraining")
    p.add_argument("--ner-variants", default="",
                   help="retrain these variants with the stock ner (default: all; gold: the gold labels)")
    p.add_argument("--oracle-split", action="store_true", help="also the oracles of one kind of error")
    p.add_argument("--keep-saved-seeds", action="store_true",
                   help="keep the saved runs of the seeds not in --seeds (same dataset, backbone, tag and epochs) "
                        "in the results file, and summarise over all of them")
    p.add_argument("--record-override", action="append", default=[],
                   help="config override of the two recording runs only (noisy and threshold), e.g. "
                        "components.dynclean_ner.negative_sampling=random; the retrainings keep the config's "
                        "defaults. Use with a --tag of its own")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help=f"trainings besides noisy, comma-separated subset of {','.join(VARIANTS)}")
    args = p.parse_args()
    start = time.time()
    variants = [v for v in args.variants.split(",") if v]
    for v in list(variants):  # a student needs its teacher, a second round its first
        while v in SELF_TRAINED and SELF_TRAINED[v] not in variants:
            v = SELF_TRAINED[v]
            variants.append(v)
    variants += ["goldfree"] if "goldfree_oracle" in variants and "goldfree" not in variants else []
    if not set(variants) <= set(VARIANTS):
        raise SystemExit(f"--variants: a subset of {VARIANTS}")
    runs = [run_seed(args.dataset, args.backbone, int(s), args.epochs, not args.no_ner, args.oracle_split, variants,
                     args.tag, args.threshold_epochs, args.record_override,
                     [v for v in args.ner_variants.split(",") if v]) for s in args.seeds.split(",")]
    if args.keep_saved_seeds:
        runs = saved_runs(args.dataset, args.backbone, args.tag, args.epochs, {r["seed"] for r in runs},
                          args.record_override) + runs
        runs.sort(key=lambda r: r["seed"])
    summary = summarise(runs)
    print(f"\n{args.dataset} / {args.backbone} / seeds {args.seeds} / {args.epochs} epochs")
    print("| training labels | test F1 (mean) | sd | per seed |")
    print("| --- | --- | --- | --- |")
    for name, s in summary.items():
        if not name.startswith("gap_closed"):
            print(f"| {name} | {s['f1_mean']:.3f} | {s['f1_sd']:.3f} | {', '.join(f'{x:.3f}' for x in s['f1'])} |")
    print("share of the noise gap closed: " + ", ".join(f"{k[len('gap_closed_'):] or 'cleaned'} {v['value']}"
                                                       for k, v in summary.items() if k.startswith("gap_closed")))
    save(results_name(args.dataset, args.backbone, args.tag), {
        "dataset": args.dataset, "backbone": args.backbone, "tag": args.tag, "epochs": args.epochs,
        "threshold_epochs": args.threshold_epochs or args.epochs, "record_overrides": args.record_override,
        "variants": variants, "runs": runs,
        "summary": summary, "anchors": ANCHORS, "wall_seconds": round(time.time() - start, 1),
    })


if __name__ == "__main__":
    main()
