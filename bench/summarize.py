"""Print docs/results.md from bench/results/*.json.

    python bench/summarize.py > docs/results.md
"""
import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def gap(g: dict, n_runs: int) -> str:
    if g["value"] is None:
        return "-"
    seeds = g.get("seeds", [])
    return f"{g['value']}" + (f" (seed {','.join(map(str, seeds))})" if seeds and len(seeds) < n_runs else "")


def backbone(d: dict) -> str:
    """The backbone, with the recording runs' config overrides when a run had
    any (e.g. negative sampling); the retrainings keep the config's defaults."""
    overrides = d.get("record_overrides", [])
    pairs = [o.partition("=") for o in overrides]  # "components.dynclean_ner.key=value"
    short = [f"{key.rsplit('.', 1)[-1]}={value}" for key, _, value in pairs]
    run = f", runs {d['tag']}" if d.get("tag") else ""  # a set of runs of its own (another machine, say)
    return d["backbone"] + (f" (recorded with {', '.join(short)})" if short else "") + run


COLUMNS = [  # (training in the results, column header)
    ("noisy", "noisy"), ("cleaned", "dev evidence (0.1 default)"), ("cleaned_dyn", "dynamics only"),
    ("cleaned_both", "dev evidence + AUM positives"), ("goldfree3", "gold-free"), ("combined4", "combined"),
    ("combined4_st", "combined + self-training"), ("combined4_pos", "combined, entities only"),
    ("combined3", "combined, heldout v1"),
    ("goldfree2", "gold-free, structure v2"), ("combined2", "combined, structure v2"),
    ("goldfree", "gold-free, structure v1"), ("goldfree_st", "gold-free v1 + self-training"),
    ("combined", "combined, structure v1"), ("combined_st", "combined v1 + self-training"),
    ("goldfree_oracle", "correction oracle (v1)"), ("oracle", "removal oracle"), ("gold", "gold"),
]
GAPS = [("gap_closed_goldfree3", "gap closed, gold-free"), ("gap_closed_combined4", "gap closed, combined"),
        ("gap_closed_combined4_st", "gap closed, combined + st"),
        ("gap_closed_combined3", "gap closed, combined heldout v1"),
        ("gap_closed_goldfree2", "gap closed, gold-free v2"), ("gap_closed_combined2", "gap closed, combined v2"),
        ("gap_closed_goldfree_st", "gap closed, gold-free v1 + st"),
        ("gap_closed_combined_st", "gap closed, combined v1 + st"), ("gap_closed", "gap closed, 0.1 default")]


def cell(d: dict, name: str) -> str:
    s = d["summary"]
    if name not in s:
        return "-"
    text = f"{s[name]['f1_mean']:.3f} ± {s[name]['f1_sd']:.3f}" if len(s[name]["f1"]) > 1 else f"{s[name]['f1_mean']:.3f}"
    if len(s[name]["f1"]) < len(d["runs"]):
        text += f" (seed {','.join(str(x) for x in s[name].get('seeds', []))})"
    return text


def paired_runs(runs: list, name: str) -> list:
    """The runs that trained `name`'s corpus and the noisy labels with both
    the span component and the stock ner."""
    keys = ("noisy", name, "noisy_ner", f"{name}_ner")
    return [r for r in runs if all(k in r["scores"] for k in keys)]


def gains(runs: list, name: str) -> tuple:
    """Per seed, the test F1 gained over noisy on `name`'s corpus by the span
    component and by the stock ner (fractions)."""
    def gain(noisy: str, clean: str) -> list:
        return [r["scores"][clean]["ents_f"] - r["scores"][noisy]["ents_f"] for r in runs]

    return gain("noisy", name), gain("noisy_ner", f"{name}_ner")


def paired_gain(d: dict, name: str) -> str:
    """Test F1 gained over noisy by the span component and by the stock ner
    on `name`'s corpus, over the seeds that have all four trainings."""
    runs = paired_runs(d["runs"], name)
    if not runs:
        return "-"
    span, ner = (statistics.mean(g) for g in gains(runs, name))
    seeds = "" if len(runs) == len(d["runs"]) else f" (seed {','.join(str(r['seed']) for r in runs)})"
    return f"{100 * span:+.1f} / {100 * ner:+.1f}{seeds}"


def num(x: float) -> str:
    """Three decimals, or "-" for a figure the run did not record."""
    return "-" if x != x else f"{x:.3f}"


ROUND9_TAG = "-r4"  # the runs of round 9 (the training dynamics in the presets): a section of their own
ROUND9 = [("noisy", "noisy"), ("goldfree3", "gold-free, round 8"), ("goldfree5", "gold-free (preset)"),
          ("goldfree6", "gold-free + hand-off"), ("combined4", "combined, round 8"), ("combined5", "combined, no hand-off"),
          ("combined6", "combined + hand-off (preset)"), ("gold", "gold")]
# where names carry case the structure never abstains, so the hand-off variant makes the preset's corpus byte for
# byte (checked on the cased runs): its runs stand for the preset there
SAME_ON_CASED = {"goldfree5": "goldfree6", "combined5": "combined6"}


def round9_scores(d: dict, run: dict, name: str):
    """The scores of `name` in a run, or of its stand-in on a cased corpus."""
    if name in run["scores"]:
        return run["scores"][name]
    if not d["dataset"].endswith("-lc") and name in SAME_ON_CASED:
        return run["scores"].get(SAME_ON_CASED[name])
    return None


def mean_sd(values: list) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def variant_tables(files: list, variants: list, scores) -> None:
    """Test and dev F1 per variant (mean ± sd over the seeds), then the
    per-seed gain over noisy and the share of the gap closed; `scores(d,
    run, name)`: a run's scores of a variant, or None."""
    for metric, title in (("ents_f", "test F1"), ("dev_f", "dev F1")):
        columns = [(n, h) for n, h in variants if any(scores(d, r, n) for d in files for r in d["runs"])]
        print(f"| dataset ({title}) | seeds | " + " | ".join(h for _, h in columns) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in columns) + " |")
        for d in files:
            cells = []
            for n, _ in columns:
                values = [scores(d, r, n)[metric] for r in d["runs"] if metric in (scores(d, r, n) or {})]
                short = f" ({len(values)} seed{'s' if len(values) > 1 else ''})" if 0 < len(values) < len(d["runs"]) else ""
                cells.append(mean_sd(values) + short)
            print(f"| {d['dataset']} ({d['epochs']} epochs) | {len(d['runs'])} | " + " | ".join(cells) + " |")
        print()
    print("Per-seed gain over noisy (test F1 points; mean [min, max]) and share of the noise gap closed:\n")
    names = [n for n, _ in variants if n not in ("noisy", "gold")]
    print("| dataset | " + " | ".join(dict(variants)[n] for n in names) + " |")
    print("| --- | " + " | ".join("---" for _ in names) + " |")
    for d in files:
        cells = []
        for n in names:
            runs = [r for r in d["runs"] if scores(d, r, n) and "noisy" in r["scores"]]
            if not runs:
                cells.append("-")
                continue
            g = [100 * (scores(d, r, n)["ents_f"] - r["scores"]["noisy"]["ents_f"]) for r in runs]
            with_gold = [r for r in runs if "gold" in r["scores"]]
            gold = statistics.mean(r["scores"]["gold"]["ents_f"] for r in with_gold) if with_gold else None
            noisy = statistics.mean(r["scores"]["noisy"]["ents_f"] for r in with_gold) if with_gold else None
            clean = statistics.mean(scores(d, r, n)["ents_f"] for r in with_gold) if with_gold else None
            share = f", gap {(clean - noisy) / (gold - noisy):.2f}" if with_gold and gold > noisy else ""
            cells.append(f"{statistics.mean(g):+.1f} [{min(g):+.1f}, {max(g):+.1f}]{share}")
        print(f"| {d['dataset']} | " + " | ".join(cells) + " |")
    print()


def round9() -> None:
    """Small tables of the round-9 runs: test and dev F1 per preset, and the
    per-seed gain of each preset over noisy."""
    files = [json.loads(f.read_text()) for f in sorted(RESULTS.glob(f"quality-*-cnn{ROUND9_TAG}.json"))]
    if not files:
        return
    print("### The training dynamics in the presets (round 9, runs -r4)\n")
    print("CNN, same config and seeds per dataset; `-lc`: every token of every split lower-cased (the "
          "structure abstains there). `round 8`: the presets before the dynamics entered them; "
          "gold-free `(preset)`: round 8 plus the dynamics' missed entities (`learned_negatives.v1`); "
          "`+ hand-off`: where the structure abstains (the `-lc` corpora) the dynamics also flag distant entities "
          "an overlapping span beats (`decision.hand_off`), as the combined preset does; on the cased corpora "
          "the variants with and without the hand-off make the same corpus byte for byte, and both cells show "
          "those runs. Test entity F1, mean ± sd over the seeds; dev "
          "F1 (of the checkpoint kept) below.\n")
    variant_tables(files, ROUND9, round9_scores)


def lc_files(variant: str, tag: str = ROUND9_TAG) -> list:
    """The quality results of the lower-cased copies (runs `tag`) with runs of `variant`."""
    files = [json.loads(f.read_text()) for f in sorted(RESULTS.glob(f"quality-*-lc-cnn{tag}.json"))]
    return [d for d in files if any(variant in r["scores"] for r in d["runs"])]


ROUND11 = [("noisy", "noisy"), ("goldfree5", "round 9 preset"), ("goldfree7", "+ form counts"),
           ("goldfree8", "form counts, no dynamics"), ("goldfree9", "+ form counts, wider dynamics"),
           ("goldfree10", "+ form counts, dynamics' distant entities"),
           ("goldfree11", "+ form counts, dynamics at a quarter of the cut"), ("gold", "gold")]


def round11() -> None:
    """Small tables of round 11 on the lower-cased copies: the form counts
    (form_share.v1) where the structure abstains, test and dev F1, per-seed
    gains and the train-label audit of what each flags."""
    files = lc_files("goldfree7")
    if not files:
        return
    print("### Distant entities the corpus mostly leaves unlabelled (rounds 11, 16 and 17, runs -r4, lower-cased copies)\n")
    print("CNN, the gold-free preset's variants on the `-lc` copies (the structure abstains there), same "
          "config and seeds. `round 9 preset`: the structure and the dynamics' missed entities; `+ form counts`: "
          "and `form_share.v1` takes the structure's distant entities (`decision.hand_off`); `form counts, no "
          "dynamics`: without the dynamics' missed entities; `wider dynamics`: with the form counts, the "
          "dynamics' cut at half the prior and overlapping flags kept (`min_ratio = 0.5`, `suppress = false`); "
          "`dynamics' distant entities` (round 16): with the form counts, the dynamics also flag (mask) distant "
          "entities an overlapping span beats (`learned.positives`, read as a detector of distant entities); "
          "`a quarter of the cut` (round 17, one seed): `min_ratio = 0.25`, `suppress = false`. "
          "Test entity F1, mean ± sd over the seeds; dev F1 below; seeds a variant lacks are counted in its "
          "cell.\n")
    variant_tables(files, ROUND11, lambda d, run, name: run["scores"].get(name))
    names = [n for n, _ in ROUND11 if n not in ("noisy", "gold")]
    print("Train-label audit of the first seed (against the gold train labels): distant entities flagged "
          "(precision: wrong ones among them), missed entities flagged, and entity F1 of the supervised "
          "training labels, distant -> cleaned:\n")
    print("| dataset | variant | distant entities flagged | precision | missed entities flagged | precision "
          "| training-label F1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for d in files:
        audit = d["runs"][0].get("audit", {})
        for n in names:
            a = audit.get(n)
            if a:
                print(f"| {d['dataset']} | {dict(ROUND11)[n]} | {a['flagged_positives']:,} | {a['fp_precision']:.2f} "
                      f"| {a['flagged_negatives']:,} | {a['fn_precision']:.2f} "
                      f"| {a['labels_f1_before']:.3f} -> {a['labels_f1_after']:.3f} |")
    print()


CEILINGS = [("noisy", "noisy"), ("goldfree7", "the gold-free preset"), ("oracle-neg", "missed entities masked"),
            ("oracle-pos", "wrong distant entities masked"), ("oracle", "both masked (removal oracle)"),
            ("gold", "gold")]


def ceilings() -> None:
    """Round 17: how far masks can go on the lower-cased copies (removal
    oracles of each kind of error beside the preset), and the neighbour-word
    probe (bench/probe_bounds.py) beside the preset it starts from."""
    files = lc_files("oracle-neg")
    if not files:
        return
    print("### How far masks go on the lower-cased copies (round 17, runs -r4)\n")
    print("CNN, same config and seeds. `missed entities masked`: exactly the distant corpus's missed entities "
          "(non-entity spans that are gold entities) masked, nothing else changed; `wrong distant entities "
          "masked`: exactly the distant entities gold does not have; `both`: the removal oracle. Gold train "
          "labels are read only to make these benchmark corpora. Test entity F1, mean ± sd over the seeds; dev "
          "F1 below; a cell with fewer seeds names them.\n")
    variant_tables(files, CEILINGS, lambda d, run, name: run["scores"].get(name))
    path = RESULTS / "probe-bounds.jsonl"
    if not path.exists():
        return
    variant = "goldfree7-bounds30-00"  # the probe's defaults: --neighbour-share 0.3 --entity-share 0
    rows = [r for r in map(json.loads, filter(str.strip, path.read_text().splitlines())) if r["variant"] == variant]
    print("Probe (`bench/probe_bounds.py`): the preset's corpus, and distant entities whose neighbour word "
          "(outside any distant entity) has the entity's text beside it in at least 30% of that word's "
          "occurrences masked, with the span they make together (\"lanka\" PER beside \"sri\"). F1: mean over "
          "the seeds run, the preset's runs of the same seeds and machine (runs) beside it; the audit: the first "
          "seed's corpus:\n")
    print("| dataset | runs | seeds | distant entities masked, all signals (precision) | training-label F1 "
          "| dev F1: preset -> probe | test F1: preset -> probe | probe - noisy, test (per seed) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:  # rows before round 18 carry no tag: they were all of runs -r4
        r.setdefault("tag", ROUND9_TAG)
    results = {tag: {d["dataset"]: d for d in lc_files("goldfree7", tag)} for tag in {r["tag"] for r in rows}}
    for dataset, tag in sorted({(r["dataset"], r["tag"]) for r in rows}):
        mine = {r["seed"]: r for r in rows if r["dataset"] == dataset and r["tag"] == tag and "ents_f" in r}
        if not mine or dataset not in results[tag]:
            continue
        runs = results[tag][dataset]["runs"]
        preset = {r["seed"]: r["scores"]["goldfree7"] for r in runs if "goldfree7" in r["scores"]}
        noisy = {r["seed"]: r["scores"]["noisy"]["ents_f"] for r in runs}
        seeds = sorted(s for s in mine if s in preset and s in noisy)
        g = [100 * (mine[s]["ents_f"] - noisy[s]) for s in seeds]
        a = mine[seeds[0]]["audit"]
        cells = [f"{statistics.mean(preset[s][k] for s in seeds):.3f} -> {statistics.mean(mine[s][k] for s in seeds):.3f}"
                 for k in ("dev_f", "ents_f")]
        print(f"| {dataset} | cnn{tag} | {seed_list(seeds)} | {a['flagged_positives']:,} ({a['fp_precision']:.2f}) "
              f"| {a['labels_f1_before']:.3f} -> {a['labels_f1_after']:.3f} | " + " | ".join(cells)
              + f" | {statistics.mean(g):+.1f} [{min(g):+.1f}, {max(g):+.1f}] |")
    print()


def positives_left() -> None:
    """Round 18: the wrong distant entities the gold-free preset keeps on the
    lower-cased copies and how the recorded dynamics rank them
    (bench/probe_positives.py)."""
    files = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("probe-positives-*.json"))]
    if not files:
        return
    print("### What the gold-free preset leaves of the wrong distant entities (round 18)\n")
    print("`bench/probe_positives.py`, seed 0's recording run (CNN): the wrong distant entities (gold train labels "
          "read to score) the preset's cleaned corpus keeps, by kind and by how often the distant labels give that "
          "text that label (the evidence a per-form rule has); then the share wrong among the distant entities the "
          "dynamics rank lowest (own-label probability over the first k epochs, k auto and all), at fixed budgets, "
          "among those the preset keeps (its base rate beside them).\n")
    print("| dataset | runs | wrong / distant entities | kept by the preset: type / bounds / spurious "
          "| kept, form labelled 1 / 2-4 / 5+ times | base rate (kept) | precision of the lowest, k auto (kept) "
          "| same, all epochs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for d in files:
        k = d["kinds"]
        n = d["form_occurrences"]
        ranks = list(d["precision_at"].values())
        cells = [", ".join(f"{b}: {v:.2f}" for b, v in r["kept"].items()) for r in (ranks[0], ranks[-1])]
        print(f"| {d['dataset']} | cnn{d['tag']}, seed {d['seed']}, k auto {d['k_auto']} | {d['wrong']:,} / "
              f"{d['entities']:,} | {k.get('type', 0):,} / {k.get('bounds', 0):,} / {k.get('spurious', 0):,} "
              f"| {n.get('1', 0):,} / {n.get('2-4', 0):,} / {n.get('5+', 0):,} | {d['kept_base_rate']:.2f} | "
              + " | ".join(cells) + " |")
    print()


def machines() -> None:
    """Round 18: the noisy runs of the same seeds on two machines (runs -r4
    and -r5) and the gold-free preset's gain on each, pooled with a t
    interval."""
    from scipy import stats

    noisy_rows, preset_rows = [], []
    for path in sorted(RESULTS.glob("quality-*-lc-cnn-r5.json")):
        old = RESULTS / path.name.replace("-r5", "-r4")
        if not old.exists():
            continue
        files = {tag: json.loads(p.read_text()) for tag, p in (("-r4", old), ("-r5", path))}
        before = {r["seed"]: r["scores"]["noisy"] for r in files["-r4"]["runs"]}
        for run in files["-r5"]["runs"]:
            a, b = before.get(run["seed"]), run["scores"]["noisy"]
            if a:
                noisy_rows.append(f"| {files['-r5']['dataset']} | {run['seed']} | {a['ents_f']:.3f} / "
                                  f"{a['dev_f']:.3f} | {b['ents_f']:.3f} / {b['dev_f']:.3f} | "
                                  f"{100 * (b['ents_f'] - a['ents_f']):+.1f} |")
        pooled = []
        for tag, d in files.items():
            runs = [r for r in d["runs"] if "goldfree7" in r["scores"]]
            if not runs:
                continue
            pair = [(r["scores"]["noisy"], r["scores"]["goldfree7"]) for r in runs]
            cells = [f"{statistics.mean(x['ents_f'] for x in side):.3f} / {statistics.mean(x['dev_f'] for x in side):.3f}"
                     for side in ([n for n, _ in pair], [c for _, c in pair])]
            gains = [[100 * (c[k] - n[k]) for n, c in pair] for k in ("ents_f", "dev_f")]
            pooled += gains[0]
            preset_rows.append(f"| {d['dataset']} | cnn{tag} | {seed_list([r['seed'] for r in runs])} | "
                               + " | ".join(cells) + " | "
                               + " | ".join(f"{statistics.mean(g):+.1f} [{min(g):+.1f}, {max(g):+.1f}]" for g in gains)
                               + " |")
        if len(pooled) > 1:
            mean = statistics.mean(pooled)
            half = stats.t.ppf(0.975, len(pooled) - 1) * statistics.stdev(pooled) / len(pooled) ** 0.5
            preset_rows.append(f"| {files['-r5']['dataset']} | both machines | {len(pooled)} runs | - | - | "
                               f"{mean:+.1f}, 95% t interval [{mean - half:+.1f}, {mean + half:+.1f}] | - |")
    if not noisy_rows:
        return
    print("The noisy runs of the same seeds, config, package pins and thread settings (OMP_NUM_THREADS=1) on the "
          "machine of rounds 9 to 17 (runs -r4) and on this round's (-r5): test F1 / dev F1.\n")
    print("| dataset | seed | -r4 | -r5 | test difference |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(noisy_rows) + "\n")
    print("The gold-free preset against noisy on each machine (test F1 mean over the seeds; gain: per-seed mean "
          "[lowest, highest]; dev F1 after the slash):\n")
    print("| dataset | runs | seeds | noisy | preset | preset - noisy, test | preset - noisy, dev |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(preset_rows) + "\n")

def scale() -> None:
    """How clean, review and audit grow with the corpus (bench_scale.py)."""
    for f in sorted(RESULTS.glob("scale-*.json")):
        d = json.loads(f.read_text())
        rows = d["rows"]
        sizes = sorted({r["size"] for r in rows})
        order = ("clean-goldfree", "clean-combined", "clean-default", "review", "clean-goldfree-batches",
                 "clean-combined-batches", "clean-default-batches", "review-batches", "audit")
        stages = sorted(dict.fromkeys(r["stage"] for r in rows), key=lambda x: order.index(x) if x in order else 9)
        print(f"### How the commands grow with the corpus ({d['dataset']} repeated, bench_scale.py)\n")
        print(f"The corpus repeated N times and shuffled, dynamics of the recorded shape ({d['epochs']} epochs, "
              "tiled from the recorded run). CPU seconds (user + system; other work shared the cores) and peak "
              f"resident memory per process; plot: `bench/results/{f.stem}.png`.\n")
        base = next((r["samples"] for r in rows if r["size"] == 1 and r.get("samples")), None)
        for title, part in (("In memory (and `audit`, which streams)", [x for x in stages if "batches" not in x]),
                            ("In batches", [x for x in stages if "batches" in x])):
            print(f"{title}:\n")
            print("| size | candidate spans | " + " | ".join(f"{x}: CPU s / peak MB" for x in part) + " |")
            print("| --- | --- | " + " | ".join("---" for _ in part) + " |")
            for size in sizes:
                by = {r["stage"]: r for r in rows if r["size"] == size}
                if not any(x in by for x in part):
                    continue
                n = next(iter(by.values()))["samples"] or (base * size if base else 0)
                print(f"| {size}x | {n:,} | " + " | ".join(
                    f"{by[x]['cpu_seconds']:,.0f} / {by[x]['peak_rss_mb']:,.0f}" if x in by else "-" for x in part)
                    + " |")
            print()
        alone = sorted({r["size"] for r in rows if r.get("cleaned")})
        if alone:
            print(f"At {', '.join(f'{x}x' for x in alone)} `clean` and `review` in memory do not fit this machine: "
                  "there the cleaned corpus `audit` reads is 1x's goldfree `clean` repeated the same way.")
        same = [r for r in rows if "same_as_in_memory" in r]
        if same:
            print(f"\nThe batch stages (`[evidence] batch_size = {d.get('batch_size', 20000):,}`) wrote what "
                  "the same stage in memory wrote: " + ", ".join(
                      f"{r['stage']} {r['size']}x {'yes' if r['same_as_in_memory'] else '**no**'}" for r in same) + ".")
        print()


def form_propagation() -> None:
    """A text's distant label carried to its unlabelled occurrences (bench_form_propagation.py)."""
    path = RESULTS / "form-propagation.json"
    if not path.exists():
        return
    print("### A text's distant label carried to its unlabelled occurrences (round 14, train-label audit)\n")
    print("| corpus | share of the text's occurrences labelled | free occurrences | gold entities "
          "| with the majority distant label |")
    print("| --- | --- | --- | --- | --- |")
    for r in json.loads(path.read_text())["rows"]:
        if r["free_occurrences"]:
            print(f"| {r['dataset']} | {r['share_from']:.1f}-{r['share_to']:.1f} | {r['free_occurrences']:,} "
                  f"| {r['gold_entity']:.2f} | {r['majority_label_right']:.2f} |")
    print()


def shards() -> None:
    """What cleaning in shards changes (bench_shards.py)."""
    for f in sorted(RESULTS.glob("shards-*.json")):
        d = json.loads(f.read_text())
        rows = d["rows"]
        print(f"### Cleaning in shards ({d['dataset']}, recordings `cnn{d['tag']}`, bench_shards.py)\n")
        print("The distant corpus split at random into K shards of whole docs, each cleaned on its own with the "
              "dynamics of its docs; the shards' docs together against the whole corpus's `clean` (K = 1). "
              "Mean over the seeds (each seeds its recording and its split); train-label audit.\n")
        print("| preset | shards | docs per shard | docs cleaned otherwise | wrong entities found: P / R "
              "| missed entities found: P / R | label F1, all tokens | seeds |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        keys = sorted({(r["preset"], r["shards"]) for r in rows}, key=lambda x: (x[0] != "goldfree", x[1]))
        for preset, k in keys:
            group = [r for r in rows if r["preset"] == preset and r["shards"] == k]
            m = {key: statistics.mean(r[key] for r in group) for key in
                 ("docs_cleaned_otherwise", "fp_precision", "fp_recall", "fn_precision", "fn_recall", "labels_f1_all")}
            spread = [r["labels_f1_all"] for r in group]
            print(f"| {preset} | {k} | {group[0]['docs_per_shard']:,} | {m['docs_cleaned_otherwise']:,.0f} "
                  f"| {m['fp_precision']:.3f} / {m['fp_recall']:.3f} | {m['fn_precision']:.3f} / {m['fn_recall']:.3f} "
                  f"| {m['labels_f1_all']:.3f} ({min(spread):.3f}-{max(spread):.3f}) | {len(group)} |")
        print()


def seed_list(seeds: list) -> str:
    """Seeds as ranges: 0-39 rather than forty numbers."""
    seeds = sorted(int(x) for x in seeds)
    parts, start = [], None
    for k, x in enumerate(seeds):
        if start is None:
            start = x
        if k + 1 == len(seeds) or seeds[k + 1] != x + 1:
            parts.append(str(start) if start == x else f"{start}-{x}")
            start = None
    return ",".join(parts)


def run_of(d: dict) -> str:
    """Backbone, epochs and seeds of a results file: one column."""
    return f"{backbone(d)}; {d['epochs']} epochs; seeds {seed_list([r['seed'] for r in d['runs']])}"


def short_cell(text: str) -> str:
    """A cell's seed list compressed to ranges."""
    if "(seed " not in text:
        return text
    head, _, seeds = text.partition("(seed ")
    return f"{head}(seeds {seed_list(seeds.rstrip(')').split(','))})"


def small_table(files: list, columns: list, value) -> None:
    """One table: dataset, run, and `columns` ((key, header) pairs; at most
    seven), a row per results file that has any of them."""
    rows = [d for d in files if any(value(d, k) != "-" for k, _ in columns)]
    if not rows:
        return
    print("| dataset | run | " + " | ".join(h for _, h in columns) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in columns) + " |")
    for d in rows:
        print(f"| {d['dataset']} | {run_of(d)} | " + " | ".join(short_cell(value(d, k)) for k, _ in columns) + " |")
    print()


PRESET_COLUMNS = ["noisy", "cleaned", "goldfree3", "combined4", "oracle", "gold"]
VARIANT_GROUPS = [["cleaned_dyn", "cleaned_both", "combined4_st", "combined4_pos", "combined3"],
                  ["goldfree2", "combined2", "goldfree", "combined"],
                  ["goldfree_st", "combined_st", "goldfree_oracle"]]


def gap_cell(d: dict, key: str) -> str:
    return gap(d["summary"][key], len(d["runs"])) if key in d["summary"] else "-"


def quality() -> None:
    files = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("quality-*.json"))
             if not f.stem.endswith(f"cnn{ROUND9_TAG}")]
    # per dataset and backbone: the default recording before its variants, more seeds first
    files.sort(key=lambda d: (d["dataset"], d["backbone"], bool(d.get("record_overrides")), -len(d["runs"])))
    if not files:
        return
    head = dict(COLUMNS)
    gap_head = dict(GAPS)
    print("### Test entity F1 after retraining, rounds 1 to 8 (same config and seeds)\n")
    print("Mean ± sd over the seeds (a cell measured on fewer seeds names them). `dev evidence`: the 0.1 default "
          "(positives flagged by held-out evidence of the gold dev set, negatives by AUM and the evidence, "
          "masked); `gold-free` and `combined`: the presets of round 8 (configs/clean_goldfree.cfg, "
          "configs/clean_combined.cfg before the dynamics entered them; round 9 is above); `removal oracle`: "
          "exactly the real errors masked; `gold`: gold train labels.\n")
    small_table(files, [(k, head[k]) for k in PRESET_COLUMNS], cell)
    print("Share of the noise gap closed, (cleaned - noisy) / (gold - noisy):\n")
    small_table(files, [(k, gap_head[k]) for k in ("gap_closed_goldfree3", "gap_closed_combined4", "gap_closed")],
                gap_cell)
    print("#### Variants that no preset uses\n")
    print("`dynamics only`: AUM for both kinds; `dev evidence + AUM positives`: positives flagged by both; "
          "`+ self-training`: the retrained pipeline labels the masked regions and a student is trained (`fill`); "
          "`entities only`: the combined preset flagging no non-entity span; `heldout v1`: the combined preset "
          "with `heldout_forms.v1`; `structure v2` / `v1`: the presets with `name_structure.v2` / `v1`, as first "
          "measured; `correction oracle`: gold labels written exactly where gold-free v1 flagged.\n")
    for group in VARIANT_GROUPS:
        small_table(files, [(k, head[k]) for k in group], cell)
    print("Share of the noise gap closed by those variants:\n")
    rest = [(k, h) for k, h in GAPS if k not in ("gap_closed_goldfree3", "gap_closed_combined4", "gap_closed")]
    small_table(files, rest[:4], gap_cell)
    small_table(files, rest[4:], gap_cell)
    splits = [(d, r) for d in files for r in d["runs"] if "oracle-pos" in r["scores"] and "oracle-neg" in r["scores"]]
    ner = [d for d in files if any(k.endswith("_ner") for k in d["summary"])]
    if ner:
        print("#### The same corpora retrained with spaCy's stock `ner` (masked tokens missing)\n")
        names = [n for n in PRESET_COLUMNS if any(f"{n}_ner" in d["summary"] for d in ner)]
        small_table(ner, [(f"{n}_ner", head[n]) for n in names], cell)
        print("Gain over noisy, span component / stock `ner`: mean over the seeds that have both trainings of both "
              "components (same corpora, same seeds):\n")
        gains = [n for n in COLUMNS if n[0] not in ("noisy", "gold") and any(f"{n[0]}_ner" in d["summary"] for d in ner)]
        for k in range(0, len(gains), 4):
            small_table(ner, gains[k:k + 4], lambda d, n: paired_gain(d, n) if paired_runs(d["runs"], n) else "-")
        print("Share of the stock `ner`'s own noise gap closed:\n")
        ner_gaps = [(f"gap_closed_{n}_ner", head[n]) for n, _ in COLUMNS
                    if any(f"gap_closed_{n}_ner" in d["summary"] for d in ner)]
        for k in range(0, len(ner_gaps), 5):
            small_table(ner, ner_gaps[k:k + 5], gap_cell)
    audited = [d for d in files if all("audit" in r for r in d["runs"])]
    if audited:
        print("\nAudit of the written corpora against the gold train labels (gold never an input to `clean`), "
              "mean over seeds: flagged positives (precision / recall as wrong distant entities), flagged "
              "negatives (as missed entities), entity F1 of the training labels: before, after on the tokens "
              "that stay supervised, and after on all tokens (masked = missing), and the precision of the "
              "corrections (re-typed, re-bounded, added: share that are gold entities).\n")
        print("| dataset | run | corpus | flagged + | FP P / R | flagged - | FN P / R | "
              "label F1 before -> supervised / all | corrections (n, precision) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for d in audited:
            for name in dict.fromkeys(n for r in d["runs"] for n in r["audit"]):  # every seed's audits
                rows = [r["audit"][name] for r in d["runs"] if name in r["audit"]]
                seeds = seed_list([r["seed"] for r in d["runs"] if name in r["audit"]])

                def m(key: str, rows: list = rows) -> float:
                    vals = [a[key] for a in rows if key in a]
                    return sum(vals) / len(vals) if vals else float("nan")

                changes = [a.get("changes") or {} for a in rows]
                corr = []
                for kind in ("retyped", "rebounded", "added"):
                    n = sum(c.get(kind, {}).get("count", 0) for c in changes) / len(rows)
                    g = sum(c.get(kind, {}).get("gold", 0) for c in changes) / len(rows)
                    if n:
                        corr.append(f"{kind} {n:,.0f} ({g / n:.2f})")
                print(f"| {d['dataset']} | {backbone(d)}; {d['epochs']} epochs; seeds {seeds} | {name} | "
                      f"{m('flagged_positives'):,.0f} | {m('fp_precision'):.2f} / {m('fp_recall'):.2f} | "
                      f"{m('flagged_negatives'):,.0f} | {m('fn_precision'):.2f} / {m('fn_recall'):.2f} | "
                      f"{m('labels_f1_before'):.3f} -> {m('labels_f1_after'):.3f} / {num(m('labels_f1_all'))} | "
                      f"{', '.join(corr) or '-'} |")
    print("\nAnchors (other systems, not comparable backbones): DynClean paper gains +3.18 to +8.95 F1 "
          "(RoBERTa-base, GPU); BOND test F1 CoNLL03 0.815, Webpage 0.657, Wikigold 0.601.\n")
    if splits:
        print("Where the headroom is (per seed): the oracle of one kind of error at a time.\n")
        print("| dataset | backbone | seed | noisy | wrong positives removed | missed entities masked | both |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for d, r in splits:
            sc = r["scores"]
            print(f"| {d['dataset']} | {d['backbone']} | {r['seed']} | {sc['noisy']['ents_f']:.3f} | "
                  f"{sc['oracle-pos']['ents_f']:.3f} | {sc['oracle-neg']['ents_f']:.3f} | {sc['oracle']['ents_f']:.3f} |")
        print()


def detection() -> None:
    for f in sorted(RESULTS.glob("detection-*.json")):
        d = json.loads(f.read_text())
        if "budget" not in d:
            continue  # the 0.1 format: in git history
        budget = d["budget"]
        errors = d["real_errors"]
        folds = d.get("folds")
        of = f"; out-of-fold {folds.get('backbone')}" if folds and folds.get("backbone") != d["backbone"] else ""
        run = f", runs {d['tag']}" if d.get("tag") else ""
        print(f"### Detection on {d['dataset']} ({d['backbone']}{run}, seed {d['seed']}{of})\n")
        print(f"{errors['positives']:,} distant entities are wrong and {errors['negatives']:,} gold entities are "
              f"missed (non-entity spans); rankings flag as many as the gold-free default "
              f"({budget['positives']:,} positives, {budget['negatives']:,} negatives)"
              + (f"; out-of-fold: {folds['folds']} {folds['mode']} folds of {folds.get('backbone')}, "
                 f"{d.get('folds_seconds') or 0:.0f} s of training" if folds else "; no out-of-fold run") + ".\n")
        print("| method | flagged + | FP precision | FP recall | flagged - | FN precision | FN recall |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, r in d["detection"].items():
            a, b = r["positives"], r["negatives"]
            print(f"| {name} | {a['flagged']:,} | {a['precision']:.3f} | {a['recall']:.3f} | {b['flagged']:,} | "
                  f"{b['precision']:.3f} | {b['recall']:.3f} |")
        print()


def review() -> None:
    for f in sorted(RESULTS.glob("review-*.json")):
        d = json.loads(f.read_text())
        seeds = ",".join(str(r["seed"]) for r in d["runs"])
        print(f"### A person's review, simulated: {d['dataset']} ({d['backbone']}, seeds {seeds})\n")
        print(f"The top N groups of `review` ({d['config']} config) decided from the gold train labels, the rest "
              "left to the automatic decision (`apply-review`); label F1 on all tokens and retrained test F1, "
              "mean over the seeds that have it.\n")
        print("| N groups | occurrences decided | label F1 (all tokens) | test F1 | seeds retrained |")
        print("| --- | --- | --- | --- | --- |")
        for n, c in d["curve"].items():
            occ = [pt["decided_occurrences"] for r in d["runs"] for pt in r["points"] if str(pt["n"]) == n]
            f1 = "-" if c["test_f1"] is None else f"{c['test_f1']:.3f}" + (
                f" ± {c['test_f1_sd']:.3f}" if c.get("test_f1_sd") is not None else "")
            print(f"| {n} | {sum(occ) / len(occ):,.0f} | {c['labels_f1_all']:.3f} | {f1} | {c['seeds_tested']} |")
        print()


def sensitivity() -> None:
    for f in sorted(RESULTS.glob("sensitivity-*.json")):
        d = json.loads(f.read_text())
        epochs = f", {d['epochs']} epochs" if "epochs" in d else ""
        print(f"### Sensitivity on {d['dataset']} ({d['backbone']}{epochs}, seed {d['seed']}; noisy test F1 "
              f"{d['noisy_test']['ents_f']:.3f})\n")
        print("Rows `heldout_*` clean with the held-out evidence (project defaults otherwise; "
              "`heldout_neg_percentile` varies the negatives' percentile there); the others use the dynamics "
              "alone.\n")
        print("| setting | value | flagged + | FP P/R | flagged - | FN P/R | label F1 after | test F1 |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in d["rows"]:
            f1 = f"{r['test']['ents_f']:.3f}" if "test" in r else "-"
            value = "all" if r["value"] is None else r["value"]
            print(f"| {r['setting']} | {value} | {r['flagged_positives']} | {r['fp_precision']:.2f}/{r['fp_recall']:.2f} | "
                  f"{r['flagged_negatives']} | {r['fn_precision']:.2f}/{r['fn_recall']:.2f} | {r['labels_f1_after']:.3f} | {f1} |")
        print()


def cost() -> None:
    for f in sorted(RESULTS.glob("recording-*.json")):
        d = json.loads(f.read_text())
        base = next(r for r in d["runs"] if r["mode"] == "off")
        size = f" repeated {d['size']}x" if d.get("size", 1) > 1 else ""
        print(f"### Cost of recording: {d['dataset']}{size} ({d['config']}), {d['epochs']} epochs, median of "
              "repeats\n")
        print("| recording | seconds | words/s | vs off | dynamics file |")
        print("| --- | --- | --- | --- | --- |")
        for r in d["runs"]:
            size = f"{r['dynamics_bytes'] / 1e6:.1f} MB" if "dynamics_bytes" in r else "-"
            print(f"| {r['mode']} | {r['seconds']} | {r['words_per_s']} | {r['seconds'] / base['seconds']:.2f} | {size} |")
        print()
    d = load("clean-cost")
    if d:
        print("### Cost of `clean` (whole command, 1-epoch CNN dynamics)\n")
        print("| dataset | samples | clean (s) | peak RSS (MB) | clean --heldout, worst case (s) | "
              "dynamics file per epoch (MB) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for r in d["rows"]:
            print(f"| {r['dataset']} | {r['samples']:,} | {r['clean_seconds']} | {r['clean_peak_rss_mb']} | "
                  f"{r.get('clean_heldout_seconds', '-')} | {r['dynamics_mb_per_epoch']} |")
        print()


README_COLUMNS = ["noisy", "goldfree3", "combined4", "oracle", "gold"]
README_TAG = "-r3"  # the runs of the current presets, all on one machine


NER_MASKS = [("noisy_ner", "noisy"), ("{v}_ner", "masked (as `clean` writes)"),
             ("{v}_nerneg", "+ masks as negatives"), ("{v}_O_ner", "masks as non-entity"),
             ("{v}_st_ner", "masks filled (`fill`)"), ("{v}_fe_ner", "teacher's entities only (`--keep-masked`)"),
             ("dev_selected_ner", "masked or filled, by dev F1"), ("gold_ner", "gold")]


def ner_masks() -> None:
    """bench_ner_masks.py: ways of giving the stock ner a corpus's masks."""
    files = sorted(RESULTS.glob("ner-masks-*.json"))
    if not files:
        return
    print("### The stock `ner` and the masks (bench_ner_masks.py)\n")
    print("Test entity F1 of spaCy's stock `ner`, mean ± sd, on the combined preset's corpora given to it in "
          "different ways; the span component's noisy and combined runs for comparison.\n")
    data = [json.loads(f.read_text()) for f in files]
    print("| dataset (seeds) | " + " | ".join(h for _, h in NER_MASKS) + " | span component: noisy / combined |")
    print("| --- | " + " | ".join("---" for _ in NER_MASKS) + " | --- |")
    for d in data:
        v, summ = d["variant"], d["summary"]

        def f(name: str) -> str:
            x = summ.get(name.format(v=v))
            return f"{x['mean']:.3f} ± {x['sd']:.3f}" if x else "-"

        seeds = d["seeds"] if isinstance(d["seeds"], list) else str(d["seeds"]).split(",")
        print(f"| {d['dataset']} ({seed_list(seeds)}) | " + " | ".join(f(n) for n, _ in NER_MASKS)
              + f" | {f('noisy')} / {f('{v}')} |")
    print()


def ner_errors() -> None:
    """bench_ner_errors.py: the test entities each run predicts, by kind, and
    whether the teacher can tell a mask's entity tokens from its others."""
    files = sorted(RESULTS.glob("ner-errors-*.json"))
    if not files:
        return
    kinds = ("correct", "wrong_type", "wrong_bounds", "spurious_title_case", "spurious_other", "all")
    print("### Where the stock `ner` loses (bench_ner_errors.py)\n")
    print("Test entities predicted per seed (mean), by kind: correct; right bounds, wrong type; overlapping a "
          "gold entity with other bounds; spurious (touching no gold entity) in title case; spurious otherwise. "
          "Then the teacher of the self-training round (the span component retrained on the combined corpus) on "
          "the masked training tokens: the share inside a gold entity, the AUC of its highest entity probability "
          "over the candidates covering the token, and the gold share among the tokens it scores below 0.05 "
          "(mean over seeds, min-max).\n")
    print("| dataset | seeds | run | " + " | ".join(k.replace("_", " ") for k in kinds) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in kinds) + " |")
    data = [json.loads(f.read_text()) for f in files]
    for d in data:
        n = len(d["teacher"])
        v = d["variant"]
        names = {"noisy": "noisy, span component", v: "combined, span component",
                 "noisy_ner": "noisy, stock ner", f"{v}_ner": "combined, stock ner"}
        for run, means in d["mean_kinds"].items():
            cells = " | ".join(f"{means[k]:.1f}" for k in kinds)
            print(f"| {d['dataset']} | {n} | {names.get(run, run)} | {cells} |")
    print()
    print("| dataset | seeds | masked tokens | inside a gold entity | AUC | below 0.05: share of masked, "
          "inside a gold entity |")
    print("| --- | --- | --- | --- | --- | --- |")
    for d in data:
        t = d["teacher_summary"]

        def r(k: str) -> str:
            return f"{t[k][0]:.2f} ({t[k][1]:.2f}-{t[k][2]:.2f})"

        print(f"| {d['dataset']} | {len(d['teacher'])} | {t['masked_tokens'][0]:,.0f} | "
              f"{t['gold_entity_share'][0]:.2f} | {r('auc')} | {r('below_0.05')}, "
              f"{r('below_0.05_gold_entity_share')} |")
    print()


def ner_parity() -> None:
    """Does the stock ner gain as much as the span component? Per dataset,
    the CNN results file with the most seeds that have the four trainings
    (noisy and cleaned, each component), the paired per-seed difference of
    the two gains with its 95% t interval, and the share of each component's
    own gap to gold that the cleaning closes (the ner starts higher and has
    less room on webpage)."""
    from scipy import stats

    files = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("quality-*-cnn*.json"))]
    files = [d for d in files if not d.get("record_overrides")]
    rows = []
    for name, title in (("combined4", "combined"), ("combined4_st", "combined + self-training"),
                        ("combined4_pos", "combined, entities only")):
        for dataset in ("conll03", "wiki", "webpage"):
            best = max((paired_runs(d["runs"], name) for d in files if d["dataset"] == dataset), key=len, default=[])
            if len(best) >= 2:
                rows.append((dataset, title, name, best))
    if not rows:
        return
    print("### Does the stock `ner` gain as much as the span component?\n")
    print("CNN, the results file with the most seeds that have all four trainings (noisy and cleaned, "
          "`dynclean_ner` and stock `ner`, same corpora and seeds). Gain = cleaned - noisy test F1 (points); "
          "difference = ner gain - span gain per seed, mean with its 95% t interval; gap closed = "
          "(cleaned - noisy) / (gold - noisy) of each component's own means, over the seeds with a gold "
          "training of both.\n")
    print("| dataset | corpus | seeds | span: noisy -> cleaned (gain) | ner: noisy -> cleaned (gain) | "
          "difference (ner - span) | seeds ner >= span | gap closed span / ner |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for dataset, title, name, runs in rows:
        f = {k: [r["scores"][k]["ents_f"] for r in runs] for k in ("noisy", name, "noisy_ner", f"{name}_ner")}
        span, ner = gains(runs, name)
        diff = [100 * (n - s) for n, s in zip(ner, span)]
        mean, se = statistics.mean(diff), statistics.stdev(diff) / len(diff) ** 0.5
        half = stats.t.ppf(0.975, len(diff) - 1) * se
        gold = [r for r in runs if "gold" in r["scores"] and "gold_ner" in r["scores"]]

        def closed(noisy: str, clean: str, top: str) -> float:
            m = {k: statistics.mean(r["scores"][k]["ents_f"] for r in gold) for k in (noisy, clean, top)}
            return (m[clean] - m[noisy]) / (m[top] - m[noisy])

        gaps = (f"{closed('noisy', name, 'gold'):.2f} / {closed('noisy_ner', f'{name}_ner', 'gold_ner'):.2f}"
                + ("" if len(gold) == len(runs) else f" ({len(gold)} seeds)")) if gold else "-"
        print(f"| {dataset} | {title} | {len(runs)} | {statistics.mean(f['noisy']):.3f} -> "
              f"{statistics.mean(f[name]):.3f} ({100 * statistics.mean(span):+.1f}) | "
              f"{statistics.mean(f['noisy_ner']):.3f} -> {statistics.mean(f[f'{name}_ner']):.3f} "
              f"({100 * statistics.mean(ner):+.1f}) | {mean:+.1f} [{mean - half:+.1f}, {mean + half:+.1f}] | "
              f"{sum(d >= 0 for d in diff)} of {len(diff)} | {gaps} |")
    print()


def readme_table() -> None:
    """The README's short table: the CNN runs of the three datasets with the
    presets as they are, and the share of the gap the combined preset closes."""
    names = {"goldfree3": "gold-free", "combined4": "combined"}
    print("| dataset | " + " | ".join(names.get(n, dict(COLUMNS).get(n, n)) for n in README_COLUMNS)
          + " | gap closed, combined |")
    print("| --- | " + " | ".join("---" for _ in README_COLUMNS) + " | --- |")
    for name in ("conll03", "wiki", "webpage"):
        d = load(f"quality-{name}-cnn{README_TAG}")
        if d is not None:
            g = d["summary"].get("gap_closed_combined4")
            print(f"| {name} ({d['epochs']} epochs, {len(d['runs'])} seeds) | "
                  + " | ".join(cell(d, n) for n in README_COLUMNS)
                  + f" | {gap(g, len(d['runs'])) if g else '-'} |")


def one_run() -> None:
    """bench_one_run.py: one `spacy train` with the cleaning inside it."""
    files = [{**json.loads(f.read_text()), "tag": f.stem.split("-cnn", 1)[1] or "(none)"}
             for f in sorted(RESULTS.glob("one-run-*.json"))]
    if not files:
        return
    print("### Cleaning in the same run (rounds 10 and 12, bench_one_run.py)\n")
    print("CNN; `one run`: configs/cnn_clean.cfg, cleaned after `after` epochs with `preset`, then trained on "
          "(`restart`: from new weights); `three steps`: the same preset on the recording run's dynamics, then "
          "a retraining (bench_quality.py's runs of the same seeds and epochs: combined6 / goldfree7, the presets "
          "as they are). `recording`: how the one-run training records (epoch: an extra pass per epoch; update: "
          "the training's own forward pass); `run`: the bench tag (work folder). `model-best`: `any` = spaCy's choice among all checkpoints, also those "
          "before the cleaning (rounds 10-11 and the first -lc runs of round 12: webpage-lc's model-best was the "
          "distant-label one in every seed); `after` = among the checkpoints after the cleaning (b1d6002). Test "
          "entity F1, mean ± sd over the seeds, dev F1 below it; time: the one-run training's wall time (CPU "
          "time) over a noisy training's of the same seed, one after the other in the same run of the script; "
          "`-`: the noisy trainings were reused from another run.\n")
    print("| dataset, run | epochs, after | preset, recording | model-best | seeds | noisy | one run | three steps "
          "| time ratio (mean, max) | CPU ratio (mean, max) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")

    def f1(d: dict, name: str, key: str) -> str:
        x = d["summary"].get(name, {}).get(key)
        return f"{x['mean']:.3f} ± {x['sd']:.3f}" if x else "-"

    def ratio(d: dict, key: str) -> str:
        r = d["summary"].get(key)
        return f"{r['mean']}, {r['max']}" if r else "-"

    def mode(d: dict) -> str:
        if "dynamics_mode" in d:  # saved since round 13 (read from the trained config)
            return d["dynamics_mode"]
        return "update" if any("dynamics_mode=update" in o for o in d.get("overrides", [])) else "epoch"

    def key(d: dict) -> tuple:
        return (d["dataset"], d["epochs"], d["after_epochs"], d.get("restart", False), mode(d), "model_best" in d)

    for d in sorted(files, key=key):
        seeds = seed_list([r["seed"] for r in d["runs"]])
        cells = [f"{f1(d, n, 'ents_f')}<br>dev {f1(d, n, 'dev_f')}" for n in ("noisy", "one_run", "three_step")]
        after = f"{d['after_epochs']}{' (restart)' if d.get('restart') else ''}"
        print(f"| {d['dataset']}, {d['tag']} | {d['epochs']}, {after} | {d.get('clean_config', 'combined')}, {mode(d)} | "
              f"{'after' if 'model_best' in d else 'any'} | {seeds} | " + " | ".join(cells)
              + f" | {ratio(d, 'time_ratio')} | {ratio(d, 'cpu_ratio')} |")
    print()


def main() -> None:
    import sys

    if "--readme" in sys.argv:
        readme_table()
        return
    print("# Results\n")
    print("Written by `python bench/summarize.py > docs/results.md` from `bench/results/*.json`; how each "
          "figure was made is in [decisions.md](decisions.md).\n")
    positives_left()
    machines()
    ceilings()
    round11()
    one_run()
    round9()
    quality()
    ner_parity()
    ner_errors()
    ner_masks()
    detection()
    review()
    sensitivity()
    cost()
    scale()
    shards()
    form_propagation()
    machine = next((json.loads(f.read_text())["machine"] for f in sorted(RESULTS.glob("*.json"))), None)
    if machine:
        print(f"Machine: {machine['cpu_count']} CPU cores, {machine['platform']}, Python {machine['python']}; "
              f"measured {machine['date']}.")


if __name__ == "__main__":
    main()
