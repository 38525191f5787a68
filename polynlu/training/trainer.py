"""Fine-tuning the joint model: batches, evaluation on dev each epoch, the best checkpoint
kept, early stopping and ``resume`` from the last finished epoch.

Model selection only looks at the dev data of the *training* locales, so a zero-shot run never
peeks at the languages it is scored on. Checkpoints are safetensors + JSON (optimizer moments
included), like models: no pickle anywhere.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from safetensors.torch import load_file, save_file
from torch import nn

from polynlu.data.example import Example
from polynlu.errors import PolynluError
from polynlu.evaluation.chunking import chunking_for
from polynlu.evaluation.evaluate import mean_scores, predict, score_predictions
from polynlu.models.backbones.registry import load_backbone
from polynlu.models.base import load_model
from polynlu.models.features import split_japanese_particles
from polynlu.models.featurized import FeaturizedModel
from polynlu.models.joint import Batch, JointModel, JointNetwork, JointSettings
from polynlu.models.prototypes import IntentPrototypes
from polynlu.nlu import NLU
from polynlu.progress import LoggedProgress
from polynlu.text.spans import OUTSIDE
from polynlu.training.base import Trainer, TrainingData
from polynlu.training.config import TrainConfig
from polynlu.training.distributed import (
    Processes,
    from_main,
    join_processes,
    process_device,
    shard,
    steps_per_process,
    wait_for_all,
)

logger = logging.getLogger(__name__)
CHECKPOINT_FOLDER = "checkpoint"
_IGNORE = -100
_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def _depth(encoder_parameter: str) -> int | None:
    """0 for the embeddings, ``i + 1`` for transformer layer ``i``, None above (pooler)."""
    if encoder_parameter.startswith("embeddings."):
        return 0
    match = _LAYER.search(encoder_parameter)
    return int(match.group(1)) + 1 if match else None


_ADDED_SETTINGS = {"align_weight": 0.0}
"""Settings added after checkpoints were already being written, with the value that
reproduces how those runs trained: such a checkpoint still resumes."""


def _same_settings(saved: dict[str, Any], now: dict[str, Any]) -> bool:
    return {**_ADDED_SETTINGS, **saved} == {**_ADDED_SETTINGS, **now}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise PolynluError(f"unknown device '{name}': use auto, cpu or cuda[:N]") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PolynluError("--device cuda was asked for, but PyTorch sees no CUDA device")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _passes(examples: int, at_least: int) -> int:
    """Passes over the data an epoch makes to hold ``at_least`` examples (at least one)."""
    return max(1, math.ceil(at_least / max(1, examples)))


def _steps_per_epoch(examples: int, size: int, at_least: int) -> int:
    """``len(_batches(...))``: every window but the last holds whole batches."""
    return math.ceil(_passes(examples, at_least) * examples / size)


def _batches(
    examples: Sequence[Example], size: int, seed: int, at_least: int = 0
) -> list[list[int]]:
    """Shuffled batches of similar length: sort within windows of 50 batches to cut padding.
    Data smaller than ``at_least`` is passed over again (each pass shuffled) until an epoch
    holds that many examples."""
    generator = torch.Generator().manual_seed(seed)
    passes = _passes(len(examples), at_least)
    order = [
        i
        for _ in range(passes)
        for i in torch.randperm(len(examples), generator=generator).tolist()
    ]
    window = size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(examples[i].utt))
        batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    random.Random(seed).shuffle(batches)
    return batches


def _optimizer_tensors(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors = {
        f"{index}.{key}": value.contiguous()
        for index, entry in state["state"].items()
        for key, value in entry.items()
        if torch.is_tensor(value)
    }
    return tensors, {"param_groups": state["param_groups"]}


def _restore_optimizer(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def gold_loss(
    intent_logits: torch.Tensor,
    slot_logits: torch.Tensor,
    examples: Sequence[Example],
    intent_index: dict[str, int],
    slot_index: dict[str, int],
) -> torch.Tensor:
    device = intent_logits.device
    intent_target = torch.tensor([intent_index[e.intent] for e in examples], device=device)
    slot_target = torch.full(slot_logits.shape[:2], _IGNORE, dtype=torch.long)
    for row, example in enumerate(examples):
        labels = [slot_index[label] for label in example.labels]
        slot_target[row, : len(labels)] = torch.tensor(labels)
    return nn.functional.cross_entropy(intent_logits, intent_target) + (
        nn.functional.cross_entropy(
            slot_logits.flatten(0, 1), slot_target.to(device).flatten(), ignore_index=_IGNORE
        )
    )


MIN_STEPS_BEFORE_STOPPING = 100
"""Early stopping waits for this many optimizer steps. On ten examples an epoch is one or two
steps: a model with a dozen slot types still labels every word ``Other`` after the first few,
and counting patience in such epochs ended those runs with nothing learned."""

PROTOTYPE_EXAMPLES = 64
"""Training examples an intent's prototype is the mean of, at most (drawn at random)."""


def fit_prototypes(
    model: FeaturizedModel, train: Sequence[Example], config: TrainConfig, *, seed: int
) -> IntentPrototypes:
    """The prototypes of the model's trained intents, from (a sample of) its training data."""
    by_intent: dict[str, list[Example]] = {}
    for example in train:
        by_intent.setdefault(example.intent, []).append(example)
    generator = random.Random(seed)
    chosen = [
        example
        for intent in sorted(by_intent)
        for example in (
            generator.sample(by_intent[intent], PROTOTYPE_EXAMPLES)
            if len(by_intent[intent]) > PROTOTYPE_EXAMPLES
            else by_intent[intent]
        )
    ]
    embeddings = model.sentence_embeddings([e.utt for e in chosen], [e.locale for e in chosen])
    return IntentPrototypes.from_embeddings(
        model.head_intents,
        embeddings,
        [e.intent for e in chosen],
        scale=config.prototype_scale,
        weight=config.prototype_weight,
    )


def selection_key(scores: dict[str, float], metric: str) -> list[float]:
    """What an epoch is chosen by: ``metric``, then the other metrics' sum to break its ties.
    On a handful of examples exact match stays 0 for epochs while slot F1 climbs; without the
    tie-break, early stopping would end such a run before it learns anything."""
    return [scores[metric], sum(value for name, value in scores.items() if name != metric)]


def _as_key(best: float | list[float]) -> list[float]:
    """A checkpoint written before the tie-break stored the metric alone."""
    return list(best) if isinstance(best, list) else [best, float("-inf")]


class _TrainingForward(nn.Module):
    """A training step's forward pass as one module call, which is what DDP wraps."""

    def __init__(self, network: JointNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled, word_states = self.network.encode(batch)
        return (pooled, *self.network.heads(pooled, word_states))


class JointTrainer(Trainer):
    """Trains a ``JointModel`` and writes it (the best epoch's) to ``output``."""

    config_type = TrainConfig
    config: TrainConfig

    def __init__(
        self,
        config: TrainConfig,
        output: Path,
        *,
        show_progress: bool = True,
        on_epoch: Callable[[dict[str, Any], JointModel], None] | None = None,
    ) -> None:
        super().__init__(config, output, show_progress=show_progress)
        self.on_epoch = on_epoch
        self.data = TrainingData(())
        """What ``fit`` was given: the model records its source, words and synonyms."""
        self._anchors: torch.Tensor | None = None
        self._anchor_weights: torch.Tensor | None = None
        self.processes = Processes()
        """This process among those ``torchrun`` started (distributed.py); one otherwise."""
        self._forward: nn.Module | None = None

    def fit(self, data: TrainingData, *, resume: bool = False) -> JointModel:
        self.data = data
        return self._train(data.train, data.dev, resume=resume)

    def _saved_state(self, resume: bool) -> dict[str, Any] | None:
        """What an earlier run in ``output`` saved to go on from; None to start afresh."""
        state_file = self.output / CHECKPOINT_FOLDER / "trainer_state.json"
        if not resume or not state_file.is_file():
            return None
        state: dict[str, Any] = json.loads(state_file.read_text("utf-8"))
        if not _same_settings(state["config"], self.fingerprint()):
            raise PolynluError(
                f"cannot resume from {state_file.parent}: it was trained with another configuration"
            )
        return state

    def _finished_model(self, saved: dict[str, Any] | None) -> JointModel | None:
        """The model of a run that had finished, so that resuming it does nothing."""
        if saved is None or not saved.get("finished"):
            return None
        logger.info("Training in %s had finished; nothing to resume.", self.output)
        finished = load_model(self.output)
        assert isinstance(finished, JointModel)
        return finished

    def _train(
        self, train: Sequence[Example], dev: Sequence[Example], *, resume: bool
    ) -> JointModel:
        """The epochs loop: what every recipe built on this trainer shares."""
        config = self.config
        if not train:
            raise PolynluError("no training examples")
        if not dev:
            raise PolynluError("no dev examples to select the best epoch with")
        seed_everything(config.seed)
        device = resolve_device(config.device)
        self.processes = processes = join_processes(device)
        device = process_device(device, processes)
        self.show_progress = self.show_progress and processes.main
        checkpoint = self.output / CHECKPOINT_FOLDER
        saved = self._saved_state(resume)
        finished = self._finished_model(saved)
        if finished is not None:
            return finished
        if resume and saved is None:
            logger.warning("No checkpoint in %s: starting afresh.", checkpoint)
        state: dict[str, Any] = saved or {"epoch": 0, "best": None, "bad_epochs": 0, "history": []}

        model = self._build_model(train, device)
        network = model.network
        # Before any step (and before a resumed run restores its weights): the sentence
        # embeddings the anchor keeps the encoder near.
        self._anchors, self._anchor_weights = self._anchor_targets(model, train, device)
        self._forward = _TrainingForward(network)
        if processes.distributed:
            self._forward = nn.parallel.DistributedDataParallel(self._forward)
        optimizer = self._optimizer(network)
        steps_per_epoch = steps_per_process(
            _steps_per_epoch(len(train), config.batch_size, config.min_epoch_examples),
            processes,
        )
        scheduler = self._schedule(optimizer, steps_per_epoch * config.epochs)
        if state["epoch"]:
            self._restore(checkpoint, network, optimizer, scheduler)
            logger.info("Resuming after epoch %d from %s", state["epoch"], checkpoint)

        intent_index = {name: i for i, name in enumerate(model.intents)}
        slot_index = {name: i for i, name in enumerate(model.slot_labels)}
        started = time.perf_counter() - sum(h["seconds"] for h in state["history"])
        last_checkpoint = time.perf_counter()
        unsaved_best: dict[str, torch.Tensor] | None = None
        for epoch in range(state["epoch"] + 1, config.epochs + 1):
            epoch_start = time.perf_counter()
            loss = self._train_epoch(
                model, optimizer, scheduler, train, epoch, intent_index, slot_index, device
            )
            scores = from_main(self._evaluate(model, dev) if processes.main else {}, processes)
            record = {
                "epoch": epoch,
                "train_loss": round(loss, 4),
                "dev": scores,
                "seconds": round(time.perf_counter() - epoch_start, 1),
            }
            state["history"].append(record)
            key = selection_key(scores, config.selection_metric)
            improved = state["best"] is None or key > _as_key(state["best"])
            if improved:
                state["best"], state["bad_epochs"], state["best_epoch"] = key, 0, epoch
                model.training = {
                    **model.training,
                    "best_epoch": epoch,
                    "history": list(state["history"]),
                }
            else:
                state["bad_epochs"] += 1
            state["epoch"] = epoch
            stop = (
                state["bad_epochs"] >= config.patience
                and epoch * steps_per_epoch >= MIN_STEPS_BEFORE_STOPPING
            )
            state["finished"] = stop or epoch == config.epochs
            # The best model and the checkpoint are written together, at most every
            # checkpoint_every_s: a resumed run then finds the best model of its checkpoint.
            # Short epochs (a few examples) would otherwise spend most of their time writing.
            due = state["finished"] or (
                time.perf_counter() - last_checkpoint >= config.checkpoint_every_s
            )
            if processes.main:  # the other processes hold the same weights: one writes
                if improved and due:
                    model.save(self.output)
                    unsaved_best = None
                elif improved:
                    unsaved_best = {k: v.detach().clone() for k, v in network.state_dict().items()}
                elif due and unsaved_best is not None:
                    self._save_weights_of(model, unsaved_best)
                    unsaved_best = None
                if due:
                    self._write_checkpoint(checkpoint, network, optimizer, scheduler, state)
                self._report(record, improved, slots=len(model.slot_labels) > 1)
                if self.on_epoch:
                    self.on_epoch(record, model)
            if due:
                last_checkpoint = time.perf_counter()
            if stop:
                logger.info(
                    "Early stop: no better dev %s in %d epochs.",
                    config.selection_metric,
                    config.patience,
                )
                break
        seconds = time.perf_counter() - started
        self._forward = None
        wait_for_all(processes)  # the main process has written the best epoch
        # The folder holds the best epoch's weights; add the whole run's history to its config.
        best = load_model(self.output)
        assert isinstance(best, JointModel)
        best.to(device)
        if not processes.main:
            return best
        best.prototypes = fit_prototypes(best, self.labelled(train), config, seed=config.seed)
        best.save_additions(self.output)
        best.training = {**best.training, "history": state["history"], "seconds": round(seconds, 1)}
        best.save_config(self.output)
        return best

    def _save_weights_of(self, model: JointModel, weights: dict[str, torch.Tensor]) -> None:
        """Save ``model`` as it was when its network held ``weights`` (an earlier epoch)."""
        current = {k: v.detach().clone() for k, v in model.network.state_dict().items()}
        model.network.load_state_dict(weights)
        model.save(self.output)
        model.network.load_state_dict(current)

    def _build_model(self, train: Sequence[Example], device: torch.device) -> JointModel:
        config = self.config
        labels = {label for e in train for label in e.labels} - {OUTSIDE}
        backbone = load_backbone(config.backbone, show_progress=self.show_progress)
        if config.japanese_particles:
            backbone.tokenizer = split_japanese_particles(backbone.tokenizer)
        model = JointModel(
            backbone=backbone,
            intents=sorted({e.intent for e in train}),
            slot_labels=[OUTSIDE, *sorted(labels)],
            settings=JointSettings(max_length=config.max_length, dropout=config.dropout),
            train_locales=sorted({e.locale for e in train}),
            training={
                "config": asdict(config),
                "train_examples": len(train),
                **({"data": self.data.source} if self.data.source else {}),
                **({"processes": self.processes.world_size} if self.processes.distributed else {}),
            },
        ).to(device)
        model.segmentation = self.data.segmentation
        model.slot_values = self.data.slot_values
        if self.data.lexicons:  # before freezing: the new rows are part of the table
            extension = model.extend_vocabulary(self.data.lexicons)
            for language in extension.languages:
                if language.pieces:
                    logger.info(
                        "%s: %s new pieces (%.0f%% of its words were <unk>)",
                        language.code,
                        f"{language.pieces:,}",
                        100 * language.unknown_share,
                    )
        if config.freeze_embeddings:
            model.network.encoder.get_input_embeddings().weight.requires_grad_(False)
        if config.freeze_layers:
            for name, parameter in model.network.encoder.named_parameters():
                depth = _depth(name)
                if depth is not None and depth <= config.freeze_layers:
                    parameter.requires_grad_(False)
        return model

    def _schedule(
        self, optimizer: torch.optim.Optimizer, total: int
    ) -> torch.optim.lr_scheduler.LambdaLR:
        """Linear warm-up, then linear decay to zero at the last step."""
        warmup = max(1, int(total * self.config.warmup_ratio))
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: min(
                (step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))
            ),
        )

    @staticmethod
    def _restore(
        checkpoint: Path,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
    ) -> None:
        network.load_state_dict(load_file(str(checkpoint / "network.safetensors")))
        _restore_optimizer(
            optimizer,
            load_file(str(checkpoint / "optimizer.safetensors")),
            json.loads((checkpoint / "optimizer.json").read_text("utf-8")),
        )
        scheduler.load_state_dict(json.loads((checkpoint / "scheduler.json").read_text("utf-8")))
        torch.set_rng_state(load_file(str(checkpoint / "rng.safetensors"))["torch"])

    def _optimizer(self, network: JointNetwork) -> torch.optim.Optimizer:
        """AdamW groups: one per (encoder depth, weight decay or not), plus the heads."""
        config = self.config
        layers = network.encoder.config.num_hidden_layers
        groups: dict[tuple[float, float], list[nn.Parameter]] = {}
        heads = []
        for name, parameter in network.named_parameters():
            if not parameter.requires_grad:
                continue
            if not name.startswith("encoder."):
                heads.append(parameter)
                continue
            depth = _depth(name.removeprefix("encoder."))
            below_top = 0 if depth is None else layers + 1 - depth  # the pooler counts as top
            scale = config.layer_decay**below_top
            decay = config.weight_decay if parameter.ndim >= 2 else 0.0
            groups.setdefault((config.learning_rate * scale, decay), []).append(parameter)
        return torch.optim.AdamW(
            [
                {"params": params, "lr": lr, "weight_decay": decay}
                for (lr, decay), params in groups.items()
            ]
            + [{"params": heads, "lr": config.head_learning_rate, "weight_decay": 0.0}]
        )

    def _train_epoch(
        self,
        model: JointModel,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        train: Sequence[Example],
        epoch: int,
        intent_index: dict[str, int],
        slot_index: dict[str, int],
        device: torch.device,
    ) -> float:
        config = self.config
        network = model.network
        network.train()
        batches = shard(
            _batches(train, config.batch_size, config.seed + epoch, config.min_epoch_examples),
            self.processes,
        )
        losses: list[float] = []
        columns = (
            TextColumn(f"Epoch {epoch}/{config.epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.3f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with LoggedProgress(*columns, disable=not self.show_progress, transient=True) as progress:
            task = progress.add_task("train", total=len(batches), loss=float("nan"))
            for indices in batches:
                examples = [train[i] for i in indices]
                features = model.featurizer.batch(
                    [e.utt for e in examples], [e.words for e in examples]
                )
                batch = Batch.from_features(features).to(device)
                loss = self.loss(model, indices, examples, batch, intent_index, slot_index)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(network.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
                progress.update(task, advance=1, loss=float(np.mean(losses[-50:])))
        return float(np.mean(losses))

    def labelled(self, train: Sequence[Example]) -> Sequence[Example]:
        """The training examples whose intents are gold labels (the prototypes' data)."""
        return train

    def _anchor_targets(
        self, model: JointModel, train: Sequence[Example], device: torch.device
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Each example's anchor (the untrained encoder's embedding of it, or of its source
        for a translation with ``align_weight``) and the weight of its drift from it; None
        when no example has a weight."""
        config = self.config
        sources = self.data.anchor_sources if config.align_weight else {}
        weights = [
            config.align_weight if example in sources else config.anchor_weight for example in train
        ]
        if not any(weights):
            return None, None
        targets = [sources.get(example, example) for example in train]
        embeddings = model.sentence_embeddings(
            [e.utt for e in targets], [e.locale for e in targets]
        )
        return (
            torch.from_numpy(embeddings).to(device),
            torch.tensor(weights, dtype=torch.float32, device=device),
        )

    def fingerprint(self) -> dict[str, Any]:
        """What must match for ``resume`` to continue a run (not how often it is saved)."""
        settings = asdict(self.config)
        settings.pop("checkpoint_every_s")
        return settings

    def loss(
        self,
        model: JointModel,
        indices: Sequence[int],
        examples: Sequence[Example],
        batch: Batch,
        intent_index: dict[str, int],
        slot_index: dict[str, int],
    ) -> torch.Tensor:
        """Cross-entropy on the gold intent and on each word's gold slot label, plus the
        anchor: ``anchor_weight`` × (1 − cosine) between each sentence embedding and the one
        the untrained encoder gave it, which keeps the sentence space where the pre-trained
        encoder aligned its languages; for a translation with ``align_weight``, the one it
        gave the translation's source, which moves the new language there."""
        pooled, intent_logits, slot_logits = self.forward(model, batch)
        loss = gold_loss(intent_logits, slot_logits, examples, intent_index, slot_index)
        if self._anchors is not None and self._anchor_weights is not None:
            rows = torch.tensor(list(indices), device=pooled.device)
            drift = 1 - nn.functional.cosine_similarity(pooled, self._anchors[rows], dim=-1)
            loss = loss + (self._anchor_weights[rows] * drift).mean()
        return loss

    def forward(
        self, model: JointModel, batch: Batch
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The sentence embedding and both heads' logits of a training batch: through DDP
        when several processes train (its gradient averaging hooks on the module call)."""
        forward = self._forward or _TrainingForward(model.network)
        pooled, intent_logits, slot_logits = forward(batch)
        return pooled, intent_logits, slot_logits

    def _evaluate(self, model: JointModel, dev: Sequence[Example]) -> dict[str, float]:
        predictions = predict(
            NLU(model), dev, batch_size=self.config.eval_batch_size, show_progress=False
        )
        chunking = chunking_for(model.segmentation)
        return mean_scores(list(score_predictions(predictions, chunking).values()))

    def _write_checkpoint(
        self,
        folder: Path,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        state: dict[str, Any],
    ) -> None:
        scratch = folder.with_name(folder.name + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        save_file(
            {k: v.contiguous() for k, v in network.state_dict().items()},
            str(scratch / "network.safetensors"),
        )
        tensors, meta = _optimizer_tensors(optimizer)
        save_file(tensors, str(scratch / "optimizer.safetensors"))
        (scratch / "optimizer.json").write_text(json.dumps(meta), "utf-8")
        # LambdaLR's state is numbers (its functions are stored as None): JSON holds it.
        (scratch / "scheduler.json").write_text(json.dumps(scheduler.state_dict()), "utf-8")
        save_file({"torch": torch.get_rng_state()}, str(scratch / "rng.safetensors"))
        (scratch / "trainer_state.json").write_text(
            json.dumps({**state, "config": self.fingerprint()}, indent=2), "utf-8"
        )
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)

    def _report(self, record: dict[str, Any], improved: bool, *, slots: bool = True) -> None:
        """One line an epoch; slot F1 only for a model with slots (SIB-200's topics have none)."""
        dev = record["dev"]
        slot_f1 = f", slot F1 {100 * dev['slot_f1']:.1f}" if slots else ""
        logger.info(
            "epoch %d: train loss %.3f · dev exact match %.1f, intent %.1f%s · %.0f s%s",
            record["epoch"],
            record["train_loss"],
            100 * dev["exact_match"],
            100 * dev["intent_acc"],
            slot_f1,
            record["seconds"],
            " · best so far, saved" if improved else "",
        )
