"""Training settings, in a module of their own so the CLI can show defaults without PyTorch."""

from __future__ import annotations

from dataclasses import dataclass

from polynlu.models.backbones.registry import DEFAULT_BACKBONE


@dataclass(frozen=True)
class TrainConfig:
    backbone: str = DEFAULT_BACKBONE
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1.5e-4
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    freeze_embeddings: bool = True
    freeze_layers: int = 4
    """Also freeze the lowest N transformer layers: cheaper steps, and better transfer. On
    en-US → 51 locales, 5 epochs with 4 frozen layers beat 5 epochs with none by 2.8 exact-match
    points (benchmarks/results/zero_shot_sweep*.json)."""
    layer_decay: float = 1.0
    """Layer-wise learning-rate decay: layer ``i`` of ``L`` trains at ``lr * decay**(L - i)``."""
    max_length: int = 64
    dropout: float = 0.1
    patience: int = 2
    seed: int = 0
    device: str = "auto"
    eval_batch_size: int = 128
    selection_metric: str = "exact_match"
