import struct
from pathlib import Path

import numpy as np
import pytest

from polynlu.errors import PolynluError
from polynlu.models.backbones.e5_q4 import E5Q4File, bundled_model_path, dequantize_q4_0


def test_q4_0_blocks_dequantize_by_hand() -> None:
    # One block, scale 0.5: byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    low = np.arange(16, dtype=np.uint8)
    high = np.full(16, 15, dtype=np.uint8)
    raw = np.float16(0.5).tobytes() + bytes((high << 4) | low)
    weights = dequantize_q4_0(raw, 1, 32)
    assert weights.shape == (1, 32)
    np.testing.assert_array_equal(weights[0, :16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(weights[0, 16:], np.full(16, (15 - 8) * 0.5))


def test_two_rows_of_two_blocks_keep_their_order() -> None:
    blocks = b"".join(
        np.float16(scale).tobytes() + bytes([0x98] * 16) for scale in (1.0, 2.0, 3.0, 4.0)
    )
    weights = dequantize_q4_0(blocks, 2, 64)
    # low nibble 8 -> 0, high nibble 9 -> +1 times the block's scale
    assert weights[0, 0] == 0 and weights[0, 16] == 1.0 and weights[0, 48] == 2.0
    assert weights[1, 16] == 3.0 and weights[1, 63] == 4.0


def test_the_bundled_file_reads_as_multilingual_e5_small() -> None:
    model = E5Q4File(bundled_model_path())
    header = model.header
    assert (header.hidden_size, header.num_layers, header.num_heads) == (384, 12, 12)
    assert (header.ffn_size, header.vocab_size, header.max_positions) == (1536, 250037, 512)
    vocabulary = model.vocabulary
    assert vocabulary.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert (vocabulary.bos_id, vocabulary.eos_id, vocabulary.unk_id) == (0, 2, 3)
    assert len(vocabulary.pieces) == 250002
    assert vocabulary.normalization[0x1] == ""  # control characters are dropped
    query = model.tensor("l0.q.w", (384, 384))
    assert query.dtype == np.float32 and 0.01 < float(np.abs(query).mean()) < 1.0
    layer_norm = model.tensor("emb.ln.w", (384,))
    assert 0.1 < float(layer_norm.mean()) < 10
    with pytest.raises(PolynluError, match="not shape"):
        model.tensor("emb.ln.w", (385,))


def test_a_foreign_or_truncated_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(PolynluError, match="magic"):
        E5Q4File(tmp_path / "x.bin")
    (tmp_path / "y.bin").write_bytes(b"E5S1" + struct.pack("<I", 1) + bytes(10))
    with pytest.raises(PolynluError, match="truncated"):
        E5Q4File(tmp_path / "y.bin")
