"""An exported joint model, run with onnxruntime: no PyTorch, no transformers.

The folder holds ``model.onnx`` (the encoder and both heads, float32 or int8), the tokenizer
and config.json; ``polynlu export`` writes it. It is a full ``NLUModel``: ``NLU.load``,
``polynlu evaluate``, ``parse`` and ``serve`` take it as they take the model it came from.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from polynlu.errors import PolynluError
from polynlu.models.config import KindSettings, ModelConfig
from polynlu.models.features import TOKENIZER_FILE, Features, Featurizer
from polynlu.models.featurized import FeaturizedModel, NetworkOutputs

ONNX_FILE = "model.onnx"
INPUTS = ("input_ids", "attention_mask", "word_tokens", "word_offsets")
OUTPUTS = ("intent_logits", "slot_logits")
SENTENCES = "sentences"
"""The mean-pooled states, for intent prototypes: graphs exported before 0.x lack it."""


class OnnxSettings(KindSettings):
    max_length: int
    """Sub-words per utterance, as the model it came from was trained."""
    parameters: int
    """The parameter count of the model it came from (the graph does not say it plainly)."""
    quantization: str | None = None
    weight_scales: str | None = None
    """``per-channel`` or ``per-tensor`` for an int8 graph."""
    opset: int | None = None


class OnnxModel(FeaturizedModel):
    kind = "onnx"
    settings_type = OnnxSettings

    def __init__(
        self,
        *,
        folder: Path,
        settings: OnnxSettings,
        intents: list[str],
        slot_labels: list[str],
        train_locales: list[str],
        threads: int | None = None,
    ) -> None:
        super().__init__(intents, slot_labels, train_locales)
        try:
            import onnxruntime  # noqa: F401  (checked here, used in set_threads)
            from tokenizers import Tokenizer
        except ImportError as error:
            raise PolynluError(
                "an exported model needs onnxruntime: pip install onnxruntime"
            ) from error
        self.folder = folder
        self.settings = settings
        self.set_threads(threads)
        self.featurizer = Featurizer(
            Tokenizer.from_file(str(folder / TOKENIZER_FILE)), settings.max_length
        )

    @property
    def backbone_name(self) -> str | None:
        exported_from = self.provenance.exported_from or {}
        return exported_from.get("backbone")

    def set_threads(self, threads: int | None) -> None:
        """Open the session with this many intra-op threads (None: onnxruntime's default)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(self.folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._has_sentences = SENTENCES in {output.name for output in self.session.get_outputs()}

    def outputs(self, features: Features) -> NetworkOutputs:
        feed = {name: getattr(features, name) for name in INPUTS}
        names = [*OUTPUTS, SENTENCES] if self._has_sentences else list(OUTPUTS)
        results = self.session.run(names, feed)
        return NetworkOutputs(results[0], results[1], results[2] if len(results) > 2 else None)

    def parameter_count(self) -> int:
        return self.settings.parameters

    def kind_settings(self) -> OnnxSettings:
        return self.settings

    def save_weights(self, folder: Path) -> None:
        for name in (ONNX_FILE, TOKENIZER_FILE):
            if (self.folder / name).resolve() != (folder / name).resolve():
                shutil.copyfile(self.folder / name, folder / name)

    @classmethod
    def load(cls, folder: Path, config: ModelConfig[Any]) -> OnnxModel:
        try:
            return cls(
                folder=folder,
                settings=config.settings,
                intents=config.intents,
                slot_labels=config.slot_labels,
                train_locales=config.train_locales,
            )
        except (KeyError, TypeError, ValueError, OSError) as error:
            raise PolynluError(f"{folder}: cannot load the exported model: {error}") from error
