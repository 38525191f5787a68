"""An exported joint model, run with onnxruntime: no PyTorch, no transformers.

The folder holds ``model.onnx`` (the encoder and both heads, float32 or int8), the tokenizer
and a config.json with the label maps; ``polynlu export`` writes it. It is a full
``NLUModel``: ``NLU.load``, ``polynlu evaluate``, ``parse`` and ``serve`` take it as they take
the model it came from.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from polynlu.errors import PolynluError
from polynlu.models.base import NLUModel, write_config
from polynlu.models.decoding import UtteranceScores
from polynlu.models.features import Featurizer
from polynlu.text.segmentation import segment

ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUTS = ("input_ids", "attention_mask", "word_tokens", "word_offsets")
OUTPUTS = ("intent_logits", "slot_logits")


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


class OnnxModel(NLUModel):
    kind = "onnx"

    def __init__(
        self,
        *,
        folder: Path,
        config: dict[str, Any],
        threads: int | None = None,
    ) -> None:
        super().__init__(
            list(config["intents"]), list(config["slot_labels"]), list(config["train_locales"])
        )
        try:
            import onnxruntime  # noqa: F401  (checked here, used in set_threads)
            from tokenizers import Tokenizer
        except ImportError as error:
            raise PolynluError(
                "an exported model needs onnxruntime: pip install onnxruntime"
            ) from error
        self.folder = folder
        self.config = config
        self.set_threads(threads)
        self.featurizer = Featurizer(
            Tokenizer.from_file(str(folder / TOKENIZER_FILE)), int(config["joint"]["max_length"])
        )

    def set_threads(self, threads: int | None) -> None:
        """Open the session with this many intra-op threads (None: onnxruntime's default)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(self.folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )

    def score(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[UtteranceScores]:
        if not texts:
            return []
        words = [segment(text, locale) for text, locale in zip(texts, locales, strict=True)]
        features = self.featurizer.batch(texts, words)
        feed = {name: getattr(features, name) for name in INPUTS}
        intent_logits, slot_logits = self.session.run(list(OUTPUTS), feed)
        intent_probs, slot_probs = _softmax(intent_logits), _softmax(slot_logits)
        return [
            UtteranceScores(sentence, intent_probs[row], slot_probs[row, : len(sentence)])
            for row, sentence in enumerate(words)
        ]

    def parameter_count(self) -> int:
        return int(self.config["parameters"])

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in (ONNX_FILE, TOKENIZER_FILE):
            if (self.folder / name).resolve() != (folder / name).resolve():
                shutil.copyfile(self.folder / name, folder / name)
        write_config(folder, {**self.config, "calibration": self.calibration.to_config()})

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> OnnxModel:
        try:
            return cls(folder=folder, config=config)
        except (KeyError, TypeError, ValueError, OSError) as error:
            raise PolynluError(f"{folder}: cannot load the exported model: {error}") from error
