"""The joint model: a multilingual encoder with an intent head and a slot head.

- The encoder reads the *natural* text (ja/zh included: no spaces inserted between
  characters); each benchmark word is then read at the sub-word that holds its first
  character, found through the tokenizer's character offsets. That is how polynlu maps
  sub-words back to MASSIVE's word units.
- The intent head reads the mean of the token states (e5 was trained with mean pooling).
- The slot head predicts one label per word: a slot type or ``Other``. Runs of equal labels
  are slots, which is exactly what the benchmark scores, so no BIO tags are needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import PreTrainedModel

from polynlu.data.lexicons import Lexicon
from polynlu.errors import PolynluError
from polynlu.models.backbones.registry import Backbone, load_saved_backbone
from polynlu.models.backbones.vocabulary import VocabularyExtension, extend_vocabulary
from polynlu.models.config import KindSettings, ModelConfig
from polynlu.models.features import MAX_WORD_OFFSET, Features, Featurizer
from polynlu.models.featurized import FeaturizedModel, NetworkOutputs

HEADS_FILE = "heads.safetensors"
HEAD_MODULES = ("word_offset", "intent_head", "slot_head")


class JointSettings(KindSettings):
    """What shapes the network and its inputs; saved with the model."""

    max_length: int = 64
    dropout: float = 0.1
    backbone: str | None = None
    """The name of the encoder the model was built on (its weights are in the folder)."""


@dataclass
class Batch:
    input_ids: torch.Tensor  # [batch, tokens]
    attention_mask: torch.Tensor  # [batch, tokens]
    word_tokens: torch.Tensor  # [batch, words]: index of the token read for each word
    word_mask: torch.Tensor  # [batch, words]
    word_offsets: torch.Tensor  # [batch, words]: the word's character offset inside its token

    def to(self, device: torch.device) -> Batch:
        return Batch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.word_tokens.to(device),
            self.word_mask.to(device),
            self.word_offsets.to(device),
        )

    @classmethod
    def from_features(cls, features: Features) -> Batch:
        return cls(
            torch.from_numpy(features.input_ids),
            torch.from_numpy(features.attention_mask),
            torch.from_numpy(features.word_tokens),
            torch.from_numpy(features.word_mask),
            torch.from_numpy(features.word_offsets),
        )


class JointNetwork(nn.Module):
    encoder: PreTrainedModel

    def __init__(
        self,
        encoder: PreTrainedModel,
        hidden_size: int,
        n_intents: int,
        n_slots: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.word_offset = nn.Embedding(MAX_WORD_OFFSET + 1, hidden_size)
        nn.init.zeros_(self.word_offset.weight)
        self.intent_head = nn.Linear(hidden_size, n_intents)
        self.slot_head = nn.Linear(hidden_size, n_slots)

    def encode(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The sentence embedding (mean-pooled states) ``[batch, hidden]`` and each word's
        state ``[batch, words, hidden]``: what the heads and the intent prototypes read."""
        states = self.encoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        mask = batch.attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        index = batch.word_tokens.unsqueeze(-1).expand(-1, -1, states.size(-1))
        word_states = states.gather(1, index) + self.word_offset(batch.word_offsets)
        return pooled, word_states

    def heads(
        self, pooled: torch.Tensor, word_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.intent_head(self.dropout(pooled)), self.slot_head(self.dropout(word_states))

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(*self.encode(batch))

    def heads_state(self) -> dict[str, torch.Tensor]:
        return {
            f"{name}.{key}": value.detach().contiguous()
            for name in HEAD_MODULES
            for key, value in getattr(self, name).state_dict().items()
        }


class JointModel(FeaturizedModel):
    kind = "joint"
    settings_type = JointSettings

    def __init__(
        self,
        *,
        backbone: Backbone,
        intents: list[str],
        slot_labels: list[str],
        settings: JointSettings,
        train_locales: list[str],
        training: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(intents, slot_labels, train_locales)
        self.backbone = backbone
        self.settings = settings
        self.training = training or {}
        self.network = JointNetwork(
            backbone.encoder,
            backbone.hidden_size,
            len(intents),
            len(slot_labels),
            settings.dropout,
        )
        self.featurizer = Featurizer(backbone.tokenizer, settings.max_length)
        self.device = torch.device("cpu")

    @property
    def backbone_name(self) -> str:
        return self.backbone.name

    def to(self, device: torch.device) -> JointModel:
        self.device = device
        self.network.to(device)
        return self

    def outputs(self, features: Features) -> NetworkOutputs:
        self.network.eval()
        with torch.inference_mode():
            pooled, word_states = self.network.encode(Batch.from_features(features).to(self.device))
            intent_logits, slot_logits = self.network.heads(pooled, word_states)
        return NetworkOutputs(
            intent_logits.float().cpu().numpy(),
            slot_logits.float().cpu().numpy(),
            pooled.float().cpu().numpy(),
        )

    def extend_vocabulary(
        self, lexicons: Mapping[str, Lexicon], *, record: bool = True
    ) -> VocabularyExtension:
        """New tokenizer pieces for the words of ``lexicons`` in scripts the tokenizer lacks,
        embedded from their English (``polynlu.models.backbones.vocabulary``)."""
        extension = extend_vocabulary(self.backbone, lexicons)
        if extension.added:
            self.featurizer = Featurizer(self.backbone.tokenizer, self.settings.max_length)
            if record:
                self.provenance.vocabulary_extensions.append(extension.as_dict())
        return extension

    def set_threads(self, threads: int | None) -> None:
        # PyTorch's intra-op pool is per process, so this is too; None keeps the current one.
        if threads:
            torch.set_num_threads(threads)

    def parameter_count(self) -> int:
        return sum(parameter.numel() for parameter in self.network.parameters())

    def kind_settings(self) -> JointSettings:
        return self.settings.model_copy(update={"backbone": self.backbone.name})

    def save_weights(self, folder: Path) -> None:
        self.backbone.save(folder)
        save_file(self.network.heads_state(), str(folder / HEADS_FILE))
        self.provenance.libraries = {**self.provenance.libraries, "torch": torch.__version__}

    @classmethod
    def load(cls, folder: Path, config: ModelConfig[Any]) -> JointModel:
        settings: JointSettings = config.settings
        try:
            model = cls(
                backbone=load_saved_backbone(settings.backbone or "unknown", folder),
                intents=config.intents,
                slot_labels=config.slot_labels,
                settings=settings,
                train_locales=config.train_locales,
            )
            heads = load_file(str(folder / HEADS_FILE))
            for name in HEAD_MODULES:
                module: nn.Module = getattr(model.network, name)
                module.load_state_dict(
                    {k.split(".", 1)[1]: v for k, v in heads.items() if k.startswith(name + ".")}
                )
        except (KeyError, TypeError, ValueError, OSError, RuntimeError) as error:
            raise PolynluError(f"{folder}: cannot load the joint model: {error}") from error
        return model
