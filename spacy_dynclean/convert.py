"""Read distantly labelled NER data (DS-NER JSON, JSON lines, CoNLL/IOB) into
DocBin corpora whose docs carry a stable sample id.

Docs are built with unknown spaces (``spaces=None``) so that ``spacy.Corpus``
keeps the given tokens instead of re-tokenizing the text, which would silently
shift entity offsets.
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab
from wasabi import msg

from spacy_dynclean.docbin import write_docbin as stream_docbin
from spacy_dynclean.docbin_reader import iter_docbin
from spacy_dynclean.outputs import Outputs, os_error
from spacy_dynclean.util import DEFAULT_SPANS_KEY, DOC_ID_KEY, DOC_INDEX_KEY, DynCleanError, PathLike, fast_msgpack, input_file

Entity = Tuple[int, int, str]  # [start, end) token offsets, label


@dataclass
class Record:
    """One sentence: its tokens and entities as [start, end) token offsets."""

    tokens: List[str]
    entities: List[Entity]
    index: int


@dataclass
class ConvertStats:
    records: int = 0
    docs: int = 0
    entities: int = 0
    skipped: List[str] = field(default_factory=list)


def doc_id_for(tokens: List[str], occurrence: int) -> str:
    """Stable id of a sentence: a hash of its tokens plus how many identical
    sentences came before it in the same file. The distant and the gold file of
    the same sentences therefore give the same ids."""
    digest = hashlib.sha1("\x1f".join(tokens).encode("utf8")).hexdigest()[:16]
    return f"{digest}-{occurrence}"


def validate_record(raw: object, where: str) -> Tuple[List[str], List[Entity]]:
    """Check one DS-NER record; entities come back as [start, end) offsets."""
    if not isinstance(raw, dict) or "tokens" not in raw:
        raise DynCleanError(f"{where}: expected an object with 'tokens' and 'entities'")
    tokens = raw["tokens"]
    if not isinstance(tokens, list) or not tokens:
        raise DynCleanError(f"{where}: empty sentence (no tokens)")
    for i, tok in enumerate(tokens):
        if not isinstance(tok, str):
            raise DynCleanError(f"{where}: token {i} is not a string: {tok!r}")
        if not tok or any(c.isspace() for c in tok):
            raise DynCleanError(f"{where}: token {i} is empty or contains whitespace: {tok!r}")
    raw_ents = raw.get("entities", [])
    if not isinstance(raw_ents, list):
        raise DynCleanError(f"{where}: 'entities' must be a list")
    entities: List[Entity] = []
    for ent in raw_ents:
        if (
            not isinstance(ent, (list, tuple))
            or len(ent) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in ent[:2])
            or not isinstance(ent[2], str)
        ):
            raise DynCleanError(f"{where}: entity {ent!r} is not [start, end, label] (whole-number offsets)")
        if not ent[2].strip() or ent[2] != ent[2].strip():
            raise DynCleanError(f"{where}: entity {ent!r} has a blank label or one with surrounding spaces")
        start, end_incl, label = ent
        if end_incl < start:
            raise DynCleanError(f"{where}: entity {ent!r} ends before it starts")
        if start < 0 or end_incl >= len(tokens):
            raise DynCleanError(
                f"{where}: entity {ent!r} is out of range for {len(tokens)} tokens"
            )
        entities.append((start, end_incl + 1, label))
    entities.sort()
    for (s1, e1, l1), (s2, e2, l2) in zip(entities, entities[1:]):
        if s2 < e1:
            raise DynCleanError(
                f"{where}: overlapping entities [{s1}, {e1 - 1}, {l1}] and [{s2}, {e2 - 1}, {l2}]"
            )
    return tokens, entities


def read_text(path: Path) -> str:
    """A UTF-8 text file (a leading byte-order mark is dropped), with one
    line for a file that is not UTF-8 or cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DynCleanError(
            f"{path}: not UTF-8 text (byte {e.start}): save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None
    except IsADirectoryError:
        raise DynCleanError(f"{path}: is a folder, not a file") from None
    except OSError as e:
        raise os_error(path, e) from None


def _read_json_records(path: Path) -> Iterator[Tuple[object, str]]:
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DynCleanError(f"{path}: malformed JSON: {e}") from None
        if not isinstance(data, list):
            raise DynCleanError(f"{path}: expected a JSON array of records")
        for i, raw in enumerate(data):
            yield raw, f"{path}: record {i}"
    else:
        i = 0
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                raise DynCleanError(f"{path}: line {line_no}: malformed JSON: {e}") from None
            yield raw, f"{path}: record {i} (line {line_no})"
            i += 1


def _iob_to_entities(tags: List[str], where: str) -> List[List]:
    """BIO/IOB2 (and IOB1) tags to inclusive [start, end, label] entities."""
    entities: List[List] = []
    for i, tag in enumerate(tags):
        if tag == "O":
            continue
        if len(tag) < 3 or tag[1] != "-" or tag[0] not in "BIES":
            raise DynCleanError(f"{where}: token {i} has an invalid tag {tag!r}")
        prefix, label = tag[0], tag[2:]
        continues = (
            prefix in "IE"
            and entities
            and entities[-1][1] == i - 1
            and entities[-1][2] == label
            and tags[i - 1][0] not in "ES"
        )
        if continues:
            entities[-1][1] = i
        else:
            entities.append([i, i, label])
    return entities


def _read_conll_records(path: Path) -> Iterator[Tuple[object, str]]:
    tokens: List[str] = []
    tags: List[str] = []
    start_line = 1
    i = 0

    def flush() -> Iterator[Tuple[object, str]]:
        nonlocal i
        where = f"{path}: record {i} (line {start_line})"
        yield {"tokens": list(tokens), "entities": _iob_to_entities(tags, where)}, where
        i += 1

    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        cols = line.split()
        if not cols:
            if tokens:
                yield from flush()
            tokens, tags = [], []
            start_line = line_no + 1
            continue
        if cols[0] == "-DOCSTART-":
            start_line = line_no + 1
            continue
        if len(cols) < 2:
            raise DynCleanError(f"{path}: line {line_no}: expected 'token ... tag' columns")
        if not tokens:
            start_line = line_no
        tokens.append(cols[0])
        tags.append(cols[-1])
    if tokens:
        yield from flush()


def _read_docbin_records(path: Path) -> Iterator[Tuple[object, str]]:
    for i, doc in enumerate(iter_docbin(path)):  # one doc at a time
        ents = [[e.start, e.end - 1, e.label_] for e in doc.ents]
        yield {"tokens": [t.text for t in doc], "entities": ents}, f"{path}: doc {i}"


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".spacy":
        return "docbin"
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suffix in (".conll", ".iob", ".bio", ".txt", ".tsv", ".conllu"):
        return "conll"
    head = read_text(path).lstrip()[:1]
    return "json" if head in ("[", "{") else "conll"


FORMATS = ("auto", "json", "conll", "docbin")


def read_records(
    path: PathLike, *, fmt: str = "auto", skip_invalid: bool = False,
    stats: Optional[ConvertStats] = None,
) -> List[Record]:
    """Read and validate every record of a file. Invalid records raise a
    `DynCleanError` naming the file and record, or with `skip_invalid` are
    left out and listed in `stats.skipped`."""
    if fmt not in FORMATS:
        raise DynCleanError(f"unknown input format {fmt!r}: use one of {FORMATS}")
    path = input_file(path, "not a file (convert-dir converts a dataset folder)")
    if fmt == "auto":
        fmt = detect_format(path)
    readers = {"json": _read_json_records, "conll": _read_conll_records, "docbin": _read_docbin_records}
    stats = stats if stats is not None else ConvertStats()
    records: List[Record] = []
    for index, (raw, where) in enumerate(readers[fmt](path)):
        stats.records += 1
        try:
            tokens, entities = validate_record(raw, where)
        except DynCleanError as e:
            if not skip_invalid:
                raise
            stats.skipped.append(str(e))
            continue
        records.append(Record(tokens, entities, index))
    return records


def records_to_docs(
    records: Iterable[Record], vocab: Vocab, *, spans_key: str = DEFAULT_SPANS_KEY
) -> List[Doc]:
    """Build docs with `doc.ents`, the same entities in `doc.spans[spans_key]`,
    and a stable id in `doc.user_data`."""
    seen: Dict[str, int] = {}
    docs: List[Doc] = []
    for rec in records:
        key = "\x1f".join(rec.tokens)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        doc = Doc(vocab, words=rec.tokens, spaces=None)
        spans = [Span(doc, s, e, label=label) for s, e, label in rec.entities]
        doc.set_ents(spans, default="outside")
        doc.spans[spans_key] = spans
        doc.user_data[DOC_ID_KEY] = doc_id_for(rec.tokens, occurrence)
        doc.user_data[DOC_INDEX_KEY] = rec.index
        docs.append(doc)
    return docs


def write_docbin(docs: Iterable[Doc], path: PathLike) -> None:
    """Write docs, their span groups and user data to `path` (a temporary
    path of an `Outputs` transaction; see `save_docbin` for one file): a
    DocBin file, written one doc at a time (`docbin.write_docbin`)."""
    docs = docs if isinstance(docs, Sequence) else list(docs)
    with fast_msgpack():
        try:
            with Path(path).open("wb") as file:
                stream_docbin(docs, file)
        except OSError as e:  # with the path, which a transaction maps to the output it stands for
            raise OSError(e.errno, e.strerror, str(path)) from None


def save_docbin(docs: Iterable[Doc], path: PathLike, inputs: Iterable[Optional[PathLike]] = ()) -> None:
    """Write one DocBin through a transaction (renamed into place at the end)."""
    with Outputs([path], inputs) as outputs:
        write_docbin(docs, outputs.path(path))


def read_docbin(path: PathLike, vocab: Optional[Vocab] = None) -> List[Doc]:
    """Read a DocBin with one clear line for a missing, unreadable or corrupt
    file (`docbin_reader.iter_docbin`: no copy of the whole file's arrays)."""
    return list(iter_docbin(path, vocab))


def convert(
    input_path: PathLike, output_path: PathLike, *, fmt: str = "auto",
    spans_key: str = DEFAULT_SPANS_KEY, skip_invalid: bool = False,
) -> ConvertStats:
    """Convert a DS-NER file to a DocBin; see `read_records` for the checks."""
    with Outputs([output_path], [input_path]) as outputs:
        stats = read_into(input_path, outputs.path(output_path), fmt=fmt, spans_key=spans_key,
                          skip_invalid=skip_invalid)
    return stats


def read_into(input_path: PathLike, tmp_path: Path, *, fmt: str = "auto", spans_key: str = DEFAULT_SPANS_KEY,
              skip_invalid: bool = False) -> ConvertStats:
    """Read, validate and write one converted file to a temporary path."""
    stats = ConvertStats()
    records = read_records(input_path, fmt=fmt, skip_invalid=skip_invalid, stats=stats)
    if not records:
        raise DynCleanError(f"{input_path}: no valid records: the corpus would be empty")
    docs = records_to_docs(records, Vocab(), spans_key=spans_key)
    write_docbin(docs, tmp_path)
    stats.docs = len(docs)
    stats.entities = sum(len(r.entities) for r in records)
    return stats


SPLITS = ("train-ds", "train-gs", "dev", "test")
REQUIRED_SPLITS = ("train-ds", "dev", "test")
SPLIT_SUFFIXES = (".json", ".jsonl", ".conll", ".iob", ".bio", ".txt")


def split_files(input_dir: Path) -> Dict[str, Path]:
    """The file of each split present in a dataset folder; two files for one
    split (train-ds.json and train-ds.conll) are refused, not guessed."""
    if not input_dir.exists():
        raise DynCleanError(f"{input_dir}: no such folder")
    if not input_dir.is_dir():
        raise DynCleanError(f"{input_dir}: is a file, not a dataset folder")
    found: Dict[str, Path] = {}
    for split in SPLITS:
        files = [p for p in sorted(input_dir.glob(f"{split}.*")) if p.suffix in SPLIT_SUFFIXES]
        if len(files) > 1:
            raise DynCleanError(f"{input_dir}: {len(files)} files for {split} ({', '.join(p.name for p in files)}): "
                                "keep one")
        if files:
            found[split] = files[0]
        elif split in REQUIRED_SPLITS:
            raise DynCleanError(f"{input_dir}: no {split} file ({', '.join(SPLIT_SUFFIXES)})")
    return found


def convert_dir(input_dir: PathLike, output_dir: PathLike, *, skip_invalid: bool = False
                ) -> Dict[str, ConvertStats]:
    """Convert every split of a dataset folder; the DocBins are renamed into
    place together once every split converted. A split the folder lacks
    (train-gs) has its old DocBin removed, so the folder never mixes two
    datasets."""
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    files = split_files(input_dir)
    finals = {split: output_dir / f"{split}.spacy" for split in SPLITS}
    stats: Dict[str, ConvertStats] = {}
    with Outputs(list(finals.values()), [input_dir, *files.values()]) as outputs:
        for split, path in files.items():
            stats[split] = read_into(path, outputs.path(finals[split]), skip_invalid=skip_invalid)
        for split in SPLITS:
            if split not in files and finals[split].exists():
                outputs.remove(finals[split])
    return stats


def verify_checksums(sums: Path, data_dir: Path, *, only: Optional[str] = None) -> int:
    """Check the sha256 of the data files of `sums` ('sha256  path' lines, as
    `sha256sum` writes them, '*path' in its binary mode) that are present;
    returns how many matched. A file with no checksum line is an error."""
    input_file(sums, "not a checksum file")
    checked = lines = 0
    for line_no, line in enumerate(read_text(sums).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise DynCleanError(f"{sums}: line {line_no}: expected 'sha256  path' (64 hex digits, then the path)")
        lines += 1
        rel = parts[1][1:] if parts[1].startswith("*") else parts[1]
        if only and not rel.startswith(f"{only}/"):
            continue
        path = data_dir / rel
        if not path.exists():
            msg.info(f"{path}: not present")
            continue
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise DynCleanError(f"{path}: sha256 {actual} does not match {digest} ({sums}, line {line_no})")
        checked += 1
    if not lines:
        raise DynCleanError(f"{sums}: no checksum lines ('sha256  path')")
    msg.good(f"{checked} files match their sha256")
    return checked
