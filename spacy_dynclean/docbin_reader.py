"""Read a DocBin file one doc at a time: the docs `DocBin.get_docs` makes.

spaCy's `DocBin.from_bytes` inflates the whole message, unpacks it and splits
the token arrays before the first doc is built: the corpus two or three times
over. The message puts the token arrays first and each doc's lengths,
strings and small items (span groups, user data, categories, flags) after
them, so one pass over the stream indexes it (keeping the lengths and
strings, and a copy of the decompressor where each field starts), and a
second pass reads every field in step from those copies: memory of a block
of docs, not of the corpus.
"""
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import numpy
import srsly
from spacy.attrs import ORTH
from spacy.tokens import Doc
from spacy.tokens._dict_proxies import SpanGroups
from spacy.vocab import Vocab

from spacy_dynclean.outputs import os_error
from spacy_dynclean.util import DynCleanError, PathLike, fast_msgpack, input_file

T = TypeVar("T")
IN_CHUNK = 1 << 16  # compressed bytes read at once
OUT_CHUNK = 1 << 18  # most bytes one decompression step inflates (a stream holds up to twice this)


class Inflated:
    """The decompressed bytes of a zlib file, read forward; `mark` returns a
    state that `Inflated(path, mark)` resumes from (another file handle and a
    copy of the decompressor), so several fields can be read in step."""

    def __init__(self, path: Path, state: Optional[Tuple[Any, ...]] = None) -> None:
        self.file = open(path, "rb")
        if state is None:
            self.z, self.tail, self.buf = zlib.decompressobj(), b"", bytearray()
        else:
            offset, z, self.tail, buf = state
            self.file.seek(offset)
            self.z, self.buf = z.copy(), bytearray(buf)
        self.i = 0

    def mark(self) -> Tuple[Any, ...]:
        return (self.file.tell(), self.z.copy(), self.tail, bytes(self.buf[self.i:]))

    def close(self) -> None:
        self.file.close()

    def _more(self) -> None:
        data = self.tail or self.file.read(IN_CHUNK)
        if data:
            out = self.z.decompress(data, OUT_CHUNK)
            self.tail = self.z.unconsumed_tail
        else:
            out = self.z.flush()
            if not out:
                raise EOFError("the compressed stream ends early (a truncated file?)")
        if self.i > len(self.buf) // 2:
            del self.buf[: self.i]
            self.i = 0
        self.buf += out

    def read(self, n: int) -> bytes:
        while len(self.buf) - self.i < n:
            self._more()
        out = bytes(self.buf[self.i: self.i + n])
        self.i += n
        return out

    def finish(self) -> None:
        """Check that the message ended where the zlib stream does, checksum included."""
        while not self.z.eof:
            data = self.tail or self.file.read(IN_CHUNK)
            if not data:
                raise EOFError("the compressed stream ends early (a truncated file?)")
            self.buf += self.z.decompress(data, OUT_CHUNK)
            self.tail = self.z.unconsumed_tail
        if len(self.buf) > self.i:
            raise ValueError("data after the message")

    def read_some(self, n: int) -> bytes:
        """Up to `n` bytes (fewer at the end of the stream): a file's `read` for msgpack's unpacker."""
        if len(self.buf) - self.i < n and not self.z.eof:
            try:
                self._more()
            except EOFError:
                pass
        k = min(n, len(self.buf) - self.i)
        out = bytes(self.buf[self.i: self.i + k])
        self.i += k
        return out

    def skip(self, n: int) -> None:
        while n > 0:
            if self.i >= len(self.buf):
                self._more()
            step = min(n, len(self.buf) - self.i)
            self.i += step
            n -= step


# msgpack type bytes whose payload has a fixed size (the bytes after the type byte)
FIXED = {0xc0: 0, 0xc2: 0, 0xc3: 0, 0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2,
         0xd2: 4, 0xd3: 8, 0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17}
SIZED = {0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4}  # bin and str: bytes of the length
EXT = {0xc7: 1, 0xc8: 2, 0xc9: 4}
CONTAINERS = {0xdc: (2, 1), 0xdd: (4, 1), 0xde: (2, 2), 0xdf: (4, 2)}  # array and map: (length bytes, per item)


def header(stream: Inflated, pieces: Optional[List[bytes]]) -> Tuple[int, int]:
    """Read one msgpack header: (payload bytes, nested objects) that follow it."""
    head = stream.read(1)
    b = head[0]
    extra = b""
    if b <= 0x7f or b >= 0xe0:
        size, nested = 0, 0
    elif b <= 0x8f:
        size, nested = 0, 2 * (b & 0x0f)
    elif b <= 0x9f:
        size, nested = 0, b & 0x0f
    elif b <= 0xbf:
        size, nested = b & 0x1f, 0
    elif b in FIXED:
        size, nested = FIXED[b], 0
    elif b in SIZED:
        extra = stream.read(SIZED[b])
        size, nested = int.from_bytes(extra, "big"), 0
    elif b in EXT:
        extra = stream.read(EXT[b])
        size, nested = int.from_bytes(extra, "big") + 1, 0
    elif b in CONTAINERS:
        width, per = CONTAINERS[b]
        extra = stream.read(width)
        size, nested = 0, per * int.from_bytes(extra, "big")
    else:
        raise ValueError(f"not a msgpack type byte: 0x{b:02x}")
    if pieces is not None:
        pieces.append(head + extra)
    return size, nested


def read_object(stream: Inflated) -> bytes:
    """The raw bytes of the next msgpack object."""
    pieces: List[bytes] = []
    todo = 1
    while todo:
        size, nested = header(stream, pieces)
        pieces.append(stream.read(size))
        todo += nested - 1
    return b"".join(pieces)


def skip_object(stream: Inflated) -> None:
    todo = 1
    while todo:
        size, nested = header(stream, None)
        stream.skip(size)
        todo += nested - 1


PER_DOC = ("cats", "flags", "span_groups", "user_data")


class Readable:
    """A stream's `read_some` as the `read` that msgpack's unpacker calls on a file."""

    def __init__(self, stream: Inflated) -> None:
        self.read = stream.read_some


class Items:
    """The items of one per-doc list in order, decoded by msgpack's own
    unpacker as `srsly.msgpack_loads` decodes the whole message; past the
    list's length, a default (spaCy's for a missing item)."""

    def __init__(self, stream: Optional[Inflated], count: int) -> None:
        """`stream`: None for a list the message lacks (every item the default)."""
        self.count, self.taken = (count, 0) if stream is not None else (0, 0)
        self.unpacker = srsly.msgpack.Unpacker(file_like=Readable(stream), raw=False, use_list=True) \
            if stream is not None else None

    def next(self, default: Any) -> Any:
        if self.taken >= self.count:
            return default
        self.taken += 1
        return self.unpacker.unpack()  # type: ignore[union-attr]


@dataclass
class DocBinIndex:
    """What the first pass keeps: the small fields, and where each large or per-doc field starts."""

    attrs: List[int] = field(default_factory=list)
    strings: List[str] = field(default_factory=list)
    lengths: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, dtype="int32"))
    marks: Dict[str, Tuple[Any, ...]] = field(default_factory=dict)
    counts: Dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> "DocBinIndex":
        index = cls()
        stream = Inflated(path)
        try:
            size, n_keys = header(stream, None)
            if size or n_keys % 2 or n_keys == 0:
                raise ValueError("the message is not a map")
            for _ in range(n_keys // 2):
                key = srsly.msgpack_loads(read_object(stream))
                if key in ("tokens", "spaces"):
                    size, _ = header(stream, None)
                    index.marks[key], index.counts[key] = stream.mark(), size
                    stream.skip(size)
                elif key in PER_DOC:
                    _, count = header(stream, None)
                    index.marks[key], index.counts[key] = stream.mark(), count
                    for _ in range(count):
                        skip_object(stream)
                elif key in ("attrs", "strings", "lengths"):
                    value = srsly.msgpack_loads(read_object(stream))
                    if key == "lengths":
                        index.lengths = numpy.frombuffer(value, dtype="int32")
                    else:
                        setattr(index, key, list(value))
                else:
                    skip_object(stream)
            stream.finish()
        finally:
            stream.close()
        index.check()
        return index

    def check(self) -> None:
        n = len(self.lengths)
        if "tokens" not in self.marks or not self.attrs:
            raise ValueError("no token arrays or attributes")
        if self.counts["tokens"] != int(self.lengths.sum()) * len(self.attrs) * 8:
            raise ValueError("the token arrays do not match the lengths")
        if self.counts.get("spaces") != int(self.lengths.sum()):
            raise ValueError("the spaces do not match the lengths")
        for key in PER_DOC:
            if key in self.counts and self.counts[key] != n and not (key == "user_data" and self.counts[key] <= n):
                raise ValueError(f"{self.counts[key]} {key} for {n} docs")


READ_ERRORS = (ValueError, EOFError, KeyError, IndexError, TypeError, zlib.error, srsly.msgpack.UnpackException)


def unreadable(path: Path, e: Exception) -> DynCleanError:
    text = " ".join(str(e).split())[:200]
    return DynCleanError(f"{path}: not a readable DocBin, truncated or another format? ({type(e).__name__}: {text})")


def iter_docbin(path: PathLike, vocab: Optional[Vocab] = None) -> Iterator[Doc]:
    """The docs of a DocBin file, as `DocBin().from_disk(path).get_docs(vocab)`
    makes them, one at a time (see the module docstring)."""
    return read_file(path, lambda found: docs_of(found, vocab if vocab is not None else Vocab()))


def iter_user_data(path: PathLike) -> Iterator[Dict[str, Any]]:
    """Each doc's user data (as `iter_docbin` would set it), without building the docs."""
    return read_file(path, user_data_of)


def read_file(path: PathLike, read: Callable[[Path], Iterator[T]]) -> Iterator[T]:
    """What `read` yields from the DocBin at `path`, with one line naming the
    file for a missing file, a folder, an error of the file system, and a
    truncated, corrupt or foreign file."""
    found = input_file(path, "not a DocBin file")
    try:
        with fast_msgpack():
            yield from read(found)
    except OSError as e:
        raise os_error(found, e) from None
    except READ_ERRORS as e:
        raise unreadable(found, e) from None


def docs_of(path: Path, vocab: Vocab) -> Iterator[Doc]:
    index = DocBinIndex.read(path)
    for string in index.strings:
        vocab[string]
    streams = {key: Inflated(path, mark) for key, mark in index.marks.items()}
    try:
        items = {key: Items(streams.get(key), index.counts.get(key, 0)) for key in PER_DOC}
        for tokens, spaces in token_blocks(streams, index):
            for doc_tokens, doc_spaces in zip(tokens, spaces):
                yield read_doc(doc_tokens, doc_spaces, items, index.attrs, vocab)
    finally:
        for stream in streams.values():
            stream.close()


def user_data_of(path: Path) -> Iterator[Dict[str, Any]]:
    index = DocBinIndex.read(path)
    stream = Inflated(path, index.marks["user_data"]) if "user_data" in index.marks else None
    try:
        items = Items(stream, index.counts.get("user_data", 0))
        for _ in range(len(index.lengths)):
            data = items.next(None)
            yield dict(srsly.msgpack_loads(data, use_list=False)) if data is not None else {}
    finally:
        if stream is not None:
            stream.close()


BLOCK_TOKENS = 1 << 13  # tokens whose arrays are read at once


def token_blocks(streams: Dict[str, Inflated], index: DocBinIndex
                 ) -> Iterator[Tuple[List[numpy.ndarray], List[numpy.ndarray]]]:
    """The docs' token and space arrays, read a block of docs at a time (one
    read per block, not per doc)."""
    width, lengths = len(index.attrs), index.lengths
    ends = numpy.cumsum(lengths)
    first = 0
    while first < len(lengths):
        base = int(ends[first - 1]) if first else 0
        last = max(first + 1, int(numpy.searchsorted(ends, base + BLOCK_TOKENS, side="right")))
        total = int(ends[last - 1]) - base
        tokens = numpy.frombuffer(streams["tokens"].read(total * width * 8), dtype="uint64").reshape((total, width))
        spaces = numpy.frombuffer(streams["spaces"].read(total), dtype=bool).reshape((total, 1))
        cuts = (ends[first: last - 1] - base).tolist()
        yield numpy.split(tokens, cuts), numpy.split(spaces, cuts)
        first = last


def read_doc(tokens: numpy.ndarray, spaces: Optional[numpy.ndarray], items: Dict[str, Items], attrs: List[int],
             vocab: Vocab) -> Doc:
    """The next doc from its token and space arrays and the per-doc lists, as `DocBin.get_docs` builds it."""
    flags, cats = items["flags"].next({}), items["cats"].next({})
    span_groups, user_data = items["span_groups"].next(b""), items["user_data"].next(None)
    if flags.get("has_unknown_spaces"):
        spaces = None
    doc = Doc(vocab, words=tokens[:, attrs.index(ORTH)], spaces=spaces)  # type: ignore[arg-type]
    doc = doc.from_array(attrs, tokens)
    doc.cats = cats
    if span_groups and span_groups != SpanGroups._EMPTY_BYTES:
        doc.spans.from_bytes(span_groups)
    else:
        doc.spans.clear()
    if user_data is not None:
        doc.user_data.update(srsly.msgpack_loads(user_data, use_list=False))
    return doc
