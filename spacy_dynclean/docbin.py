"""Write a DocBin file one doc at a time.

spaCy's `DocBin` keeps every doc's token array, then stacks them, packs the
whole message and compresses it: some four copies of the corpus's arrays at
the peak, the largest memory cost of writing a cleaned corpus. `write_docbin`
writes the same bytes (the message `DocBin.to_bytes` packs, through the same
zlib stream) while it holds one doc's arrays at a time and the small per-doc
items (span groups, user data, categories) that the message puts after them.

`docbin_reader.iter_docbin` reads one back the same way.
"""
import tempfile
import zlib
from typing import BinaryIO, Dict, Iterable, Iterator, List, Optional, Sequence

import numpy
import srsly
from spacy.tokens import Doc, DocBin

from spacy_dynclean.util import DynCleanError, PathLike

CHUNK = 1 << 20  # bytes handed to the compressor at once


class Compressed:
    """A zlib stream into an open file, fed in chunks."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.stream = zlib.compressobj()
        self.pending: List[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.pending.append(data)
        self.size += len(data)
        if self.size >= CHUNK:
            self.drain()

    def drain(self) -> None:
        if self.pending:
            self.file.write(self.stream.compress(b"".join(self.pending)))
            self.pending, self.size = [], 0

    def close(self) -> None:
        self.drain()
        self.file.write(self.stream.flush())


def bin_header(n: int) -> bytes:
    """The msgpack header of a binary value of `n` bytes (at most 4 GB, as in
    spaCy's DocBin)."""
    if n >= 1 << 32:
        raise DynCleanError(f"{n:,} bytes of token arrays are too many for one DocBin file (4 GB at most): "
                            "split the corpus into several files")
    if n < 1 << 8:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 1 << 16:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


def array_header(n: int) -> bytes:
    """The msgpack header of an array of `n` items."""
    if n < 16:
        return bytes([0x90 | n])
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def write_list(out: Compressed, items: Sequence[object]) -> None:
    out.write(array_header(len(items)))
    for item in items:
        out.write(srsly.msgpack_dumps(item))


def write_docbin(docs: Sequence[Doc], file: BinaryIO) -> None:
    """Write `docs` to `file` as `DocBin(store_user_data=True).to_bytes()`
    would, byte for byte, without building the DocBin in memory."""
    acc = DocBin(store_user_data=True)  # spaCy's own `add` collects the strings and small items
    width = len(acc.attrs)
    lengths = numpy.asarray([len(doc) for doc in docs], dtype="int32")

    def token_arrays() -> Iterator[bytes]:
        for doc, n in zip(docs, lengths):
            yield doc_tokens(acc, doc, int(n) * width * 8)

    write_message(Compressed(file), acc, lengths, token_arrays())


def doc_tokens(acc: DocBin, doc: Doc, expected: int) -> bytes:
    """`doc` added to `acc`, and its token array's bytes (a uint64 per token
    and attribute, checked against the size the message announced)."""
    acc.add(doc)
    tokens = acc.tokens.pop()
    if tokens.nbytes != expected:
        raise ValueError(f"a token array of {tokens.nbytes} bytes for a doc of {len(doc)} tokens")
    return tokens.tobytes("C")


#: The lists of per-doc items the message holds after the arrays, in its order.
ITEM_LISTS = ("cats", "flags", "span_groups", "user_data")


def write_message(out: Compressed, acc: DocBin, lengths: numpy.ndarray, tokens: Iterable[bytes],
                  items: Optional[Dict[str, Iterable[bytes]]] = None) -> None:
    """The message `DocBin.to_bytes` packs: the token arrays (`tokens`, which
    add their docs to `acc`), then the items `acc` collected, or with `items`
    the per-doc lists already packed (a doc's item each, in chunks)."""
    out.write(bytes([0x80 | 10]))  # the message: a map of ten keys, in DocBin.to_bytes's order
    out.write(srsly.msgpack_dumps("version") + srsly.msgpack_dumps(acc.version))
    out.write(srsly.msgpack_dumps("attrs") + srsly.msgpack_dumps(acc.attrs))
    out.write(srsly.msgpack_dumps("tokens") + bin_header(int(lengths.sum()) * len(acc.attrs) * 8))
    for chunk in tokens:
        out.write(chunk)
    spaces = b"".join(s.tobytes("C") for s in acc.spaces)
    out.write(srsly.msgpack_dumps("spaces") + bin_header(len(spaces)) + spaces)
    length_bytes = lengths.tobytes("C")
    out.write(srsly.msgpack_dumps("lengths") + bin_header(len(length_bytes)) + length_bytes)
    out.write(srsly.msgpack_dumps("strings"))
    write_list(out, sorted(acc.strings))
    for key in ITEM_LISTS:
        out.write(srsly.msgpack_dumps(key))
        if items is None:
            write_list(out, getattr(acc, key))
            continue
        out.write(array_header(len(lengths)))
        for chunk in items[key]:
            out.write(chunk)
    out.close()


class DocBinWriter:
    """Write a DocBin file from docs given one at a time, their number not
    known in advance (a cleaning in batches). The message announces the token
    arrays' size before them and puts each doc's small items (span groups,
    user data, categories, flags) after every array, so both wait, packed, in
    temporary files in `folder` (beside the output) until `close`; what stays
    in memory is the docs' strings, lengths and whitespace."""

    def __init__(self, file: BinaryIO, folder: PathLike) -> None:
        self.file = file
        self.spools = {key: tempfile.TemporaryFile(dir=folder) for key in ("tokens", *ITEM_LISTS)}
        self.acc = DocBin(store_user_data=True)
        self.lengths: List[int] = []
        self.spaces = bytearray()

    def add(self, doc: Doc) -> None:
        acc = self.acc
        self.spools["tokens"].write(doc_tokens(acc, doc, len(doc) * len(acc.attrs) * 8))
        self.spaces += acc.spaces.pop().tobytes("C")
        for key in ITEM_LISTS:
            self.spools[key].write(srsly.msgpack_dumps(getattr(acc, key).pop()))
        self.lengths.append(len(doc))

    def close(self) -> None:
        """Write the message from the spooled arrays and items; the temporary files go."""
        try:
            self.acc.spaces = [numpy.frombuffer(bytes(self.spaces), dtype="bool")] if self.spaces else []
            write_message(Compressed(self.file), self.acc, numpy.asarray(self.lengths, dtype="int32"),
                          spooled(self.spools["tokens"]), {key: spooled(self.spools[key]) for key in ITEM_LISTS})
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the temporary files (also when the writing stops half-way)."""
        for spool in self.spools.values():
            spool.close()


def spooled(spool: BinaryIO) -> Iterator[bytes]:
    """A temporary file's bytes from its start, in chunks."""
    spool.flush()
    spool.seek(0)
    while True:
        chunk = spool.read(CHUNK)
        if not chunk:
            return
        yield chunk
