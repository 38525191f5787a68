"""Teacher → student: distil a trained joint model into a smaller one.

The student is the teacher cut down: its word-embedding matrix keeps only the sub-words the
target languages use (``prune_vocabulary``; that matrix is most of the teacher's size) and its
encoder keeps ``layers`` of the teacher's layers, evenly spaced, with the teacher's heads on top.
It then learns from the teacher's temperature-scaled intent and slot distributions on unlabelled
utterances of every target locale, and from the gold labels of the teacher's training locales.
Training, dev selection (on the teacher's training locales only), checkpoints and ``resume`` are
``JointTrainer``'s; only the model and the loss differ. ``start_from`` keeps training an earlier
student instead (its layers and vocabulary as they are), for example on fresh unlabelled text.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import AutoModel, PreTrainedModel

from polynlu.data.example import Example
from polynlu.data.massive import cap_per_locale
from polynlu.errors import PolynluError
from polynlu.models.backbones.registry import Backbone
from polynlu.models.calibration import Calibration
from polynlu.models.joint import HEAD_MODULES, Batch, JointModel, JointSettings
from polynlu.progress import LoggedProgress
from polynlu.text.batches import map_by_length
from polynlu.training.base import TrainingData
from polynlu.training.config import DistillConfig, StudentSettings
from polynlu.training.trainer import JointTrainer, gold_loss

__all__ = ["DistillTrainer", "StudentSettings", "distill", "prune_vocabulary", "student_encoder"]

logger = logging.getLogger(__name__)

Logits = tuple[np.ndarray, np.ndarray]
"""A teacher's intent logits and its per-word slot logits for one utterance."""


def prune_vocabulary(
    tokenizer: Tokenizer, texts: Iterable[str], max_size: int | None
) -> tuple[Tokenizer, list[int]]:
    """A tokenizer over the sub-words ``texts`` use (the most frequent ``max_size``, special
    tokens always kept), and the teacher ids of its pieces in their new order.

    For a Unigram model, dropping pieces that no text's best segmentation uses leaves those
    segmentations unchanged, so the kept texts tokenize exactly as before.
    """
    spec = json.loads(tokenizer.to_str())
    model = spec["model"]
    if model.get("type") != "Unigram":
        raise PolynluError(f"vocabulary pruning needs a Unigram tokenizer, not {model.get('type')}")
    special = {token["id"] for token in spec.get("added_tokens", [])} | {model["unk_id"]}
    counts: Counter[int] = Counter()
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == 4096:
            counts.update(i for encoding in tokenizer.encode_batch(batch) for i in encoding.ids)
            batch.clear()
    counts.update(i for encoding in tokenizer.encode_batch(batch) for i in encoding.ids)
    ranked = [i for i, _ in counts.most_common() if i not in special]
    room = None if max_size is None else max(0, max_size - len(special))
    keep = sorted(special | set(ranked[:room]))
    new_id = {old: new for new, old in enumerate(keep)}
    model["vocab"] = [model["vocab"][i] for i in keep]
    model["unk_id"] = new_id[model["unk_id"]]
    for token in spec.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    processor = spec.get("post_processor") or {}
    for token in processor.get("special_tokens", {}).values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    return Tokenizer.from_str(json.dumps(spec)), keep


def student_encoder(
    teacher: PreTrainedModel, keep: Sequence[int], layers: int, hidden: int | None
) -> PreTrainedModel:
    config = teacher.config.__class__(**teacher.config.to_dict())
    teacher_layers = int(config.num_hidden_layers)
    if not 1 <= layers <= teacher_layers:
        raise PolynluError(f"the student needs 1 to {teacher_layers} layers, not {layers}")
    config.num_hidden_layers = layers
    config.vocab_size = len(keep)
    same_width = hidden is None or hidden == config.hidden_size
    if not same_width:
        heads = max(1, hidden // 64) if hidden else 1
        config.hidden_size, config.num_attention_heads = hidden, heads
        config.intermediate_size = 4 * int(hidden or 0)
    try:  # BERT-like encoders: no pooler, as the teacher was loaded (the heads do not use it)
        student: PreTrainedModel = AutoModel.from_config(config, add_pooling_layer=False)  # type: ignore[no-untyped-call]
    except TypeError:
        student = AutoModel.from_config(config)  # type: ignore[no-untyped-call]
    if not same_width:
        return student
    # Evenly spaced teacher layers, the first and the last included: 12 → 4 keeps 0, 4, 7, 11.
    chosen = [round(i * (teacher_layers - 1) / max(1, layers - 1)) for i in range(layers)]
    state = {}
    for name, value in teacher.state_dict().items():
        parts = name.split(".")
        if "layer" in parts and parts[parts.index("layer") + 1].isdigit():
            at = parts.index("layer") + 1
            if int(parts[at]) not in chosen:
                continue
            parts[at] = str(chosen.index(int(parts[at])))
        state[".".join(parts)] = value
    embeddings = cast(torch.Tensor, teacher.get_input_embeddings().weight).detach()
    word_key = next(k for k in state if k.endswith("word_embeddings.weight"))
    state[word_key] = embeddings[torch.tensor(list(keep))].clone()
    student.load_state_dict(state, strict=False)
    return student


class DistillTrainer(JointTrainer):
    """A student ``JointModel`` trained on the teacher's soft labels for ``data.unlabelled``
    (capped per locale, the teacher's own locales left out) and on the gold labels of
    ``data.train``; selected on ``data.dev``, saved to ``output``."""

    config_type = DistillConfig  # type: ignore[assignment]

    def __init__(
        self,
        config: DistillConfig,
        output: Path,
        *,
        teacher: JointModel,
        show_progress: bool = True,
    ) -> None:
        # The loop runs on the teacher's backbone name and input length.
        training = replace(
            config.training,
            backbone=teacher.backbone.name,
            max_length=teacher.settings.max_length,
        )
        super().__init__(training, output, show_progress=show_progress)
        self.distill = config
        self.student = config.student
        self.teacher = teacher
        self._teacher_logits: list[Logits] = []
        self._gold: list[bool] = []

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "student": asdict(self.student)}

    def labelled(self, train: Sequence[Example]) -> Sequence[Example]:
        # The unlabelled text's own labels (MASSIVE has them) must never be read.
        return [example for example, gold in zip(train, self._gold, strict=True) if gold]

    def fit(self, data: TrainingData, *, resume: bool = False) -> JointModel:
        # A finished run needs no soft labels: scoring the texts again would take minutes.
        finished = self._finished_model(self._saved_state(resume))
        if finished is not None:
            return finished
        unlabelled = cap_per_locale(
            [e for e in data.unlabelled if e.locale not in self.teacher.train_locales],
            self.distill.unlabeled_per_locale,
            self.config.seed,
        )
        texts = [*data.train, *unlabelled]
        self._gold = [True] * len(data.train) + [False] * len(unlabelled)
        self._teacher_logits = self._score_with_teacher(texts)
        return self._train(texts, data.dev, resume=resume)

    def _score_with_teacher(
        self, examples: Sequence[Example]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The teacher's intent and per-word slot logits, computed once for every epoch."""
        teacher = self.teacher
        network = teacher.network.eval()

        def score(batch: list[Example]) -> list[Logits]:
            features = teacher.featurizer.batch([e.utt for e in batch], [e.words for e in batch])
            with torch.inference_mode():
                intents, slots = network(Batch.from_features(features).to(teacher.device))
            return [
                (
                    intents[row].float().cpu().numpy(),
                    slots[row, : len(example.words)].float().cpu().numpy(),
                )
                for row, example in enumerate(batch)
            ]

        with LoggedProgress(disable=not self.show_progress, transient=True) as bar:
            task = bar.add_task("Teacher's soft labels", total=len(examples))
            return map_by_length(
                examples,
                score,
                length=lambda example: len(example.utt),
                batch_size=self.config.eval_batch_size,
                advance=lambda done: bar.advance(task, done),
            )

    def _build_model(self, train: Sequence[Example], device: torch.device) -> JointModel:
        if self.student.start_from is None:
            student = self._cut_from_teacher(train)
        else:
            student = self._earlier_student(Path(self.student.start_from))
        student.training = {
            "config": asdict(self.config),
            "student": asdict(self.student),
            "teacher": {
                "backbone": self.teacher.backbone.name,
                "parameters": self.teacher.parameter_count(),
                "train_locales": self.teacher.train_locales,
            },
            "train_examples": len(train),
            "labelled_examples": sum(self._gold),
            "vocabulary": student.backbone.tokenizer.get_vocab_size(),
            **student.training,
        }
        student.segmentation = self.teacher.segmentation
        student.slot_values = self.teacher.slot_values
        if self.config.freeze_embeddings:
            student.network.encoder.get_input_embeddings().weight.requires_grad_(False)
        return student.to(device)

    def _cut_from_teacher(self, train: Sequence[Example]) -> JointModel:
        teacher = self.teacher
        tokenizer, keep = prune_vocabulary(
            Tokenizer.from_str(teacher.featurizer.tokenizer.to_str()),
            (e.utt for e in train),
            self.student.vocab_size,
        )
        encoder = student_encoder(
            teacher.backbone.encoder, keep, self.student.layers, self.student.hidden
        )
        student = JointModel(
            backbone=Backbone(f"distilled:{teacher.backbone.name}", encoder, tokenizer),
            intents=teacher.intents,
            slot_labels=teacher.slot_labels,
            settings=JointSettings(max_length=self.config.max_length, dropout=self.config.dropout),
            train_locales=teacher.train_locales,
        )
        if student.backbone.hidden_size == teacher.backbone.hidden_size:
            for name in HEAD_MODULES:
                module: nn.Module = getattr(student.network, name)
                module.load_state_dict(getattr(teacher.network, name).state_dict())
        return student

    def _earlier_student(self, folder: Path) -> JointModel:
        from polynlu.models.base import load_model

        student = load_model(folder)
        if not isinstance(student, JointModel):
            raise PolynluError(f"{folder} is a {student.kind} model; a student must be a joint one")
        for labels in ("intents", "slot_labels"):
            if getattr(student, labels) != getattr(self.teacher, labels):
                raise PolynluError(
                    f"{folder} has other {labels.replace('_', ' ')} than the teacher; "
                    "a student can only keep learning from a teacher with the same labels"
                )
        student.training = {"started_from": {"folder": str(folder), "training": student.training}}
        # The old temperature was fitted to the old weights; calibrate the new student again.
        student.calibration = Calibration()
        return student

    def loss(
        self,
        model: JointModel,
        indices: Sequence[int],
        examples: Sequence[Example],
        batch: Batch,
        intent_index: dict[str, int],
        slot_index: dict[str, int],
    ) -> torch.Tensor:
        device = batch.input_ids.device
        t = self.student.temperature
        _, intent_logits, slot_logits = self.forward(model, batch)
        teacher_intents = torch.from_numpy(
            np.stack([self._teacher_logits[i][0] for i in indices])
        ).to(device)
        teacher_slots = torch.zeros_like(slot_logits)
        mask = torch.zeros(slot_logits.shape[:2], dtype=torch.bool, device=device)
        for row, i in enumerate(indices):
            words = self._teacher_logits[i][1]
            teacher_slots[row, : len(words)] = torch.from_numpy(words).to(device)
            mask[row, : len(words)] = True
        kl = nn.functional.kl_div
        intent_kd = kl(
            (intent_logits / t).log_softmax(-1),
            (teacher_intents / t).log_softmax(-1),
            log_target=True,
            reduction="batchmean",
        )
        slot_kd = kl(
            (slot_logits[mask] / t).log_softmax(-1),
            (teacher_slots[mask] / t).log_softmax(-1),
            log_target=True,
            reduction="batchmean",
        )
        loss = (intent_kd + slot_kd) * t * t
        gold = [row for row, i in enumerate(indices) if self._gold[i]]
        if gold and self.student.gold_weight:
            rows = torch.tensor(gold, device=device)
            loss = loss + self.student.gold_weight * gold_loss(
                intent_logits[rows],
                slot_logits[rows],
                [examples[row] for row in gold],
                intent_index,
                slot_index,
            )
        return loss


def distill(
    config: DistillConfig,
    output: Path,
    *,
    teacher: JointModel,
    data: TrainingData,
    show_progress: bool = True,
    resume: bool = False,
) -> JointModel:
    """The whole recipe: distil a student into ``output``, then ``config.fresh_rounds``
    rounds of one epoch each on another sample of the unlabelled text, every round continuing
    the student in ``output`` (its record keeps each round's history under ``started_from``).
    ``resume`` continues an interrupted run, the rounds included."""
    student = DistillTrainer(config, output, teacher=teacher, show_progress=show_progress).fit(
        data, resume=resume
    )
    first_round = student.training.get("fresh_round", 0) + 1 if resume else 1
    for number in range(first_round, config.fresh_rounds + 1):
        logger.info(
            "Fresh round %d of %d: one epoch on another sample", number, config.fresh_rounds
        )
        fresh = replace(
            config,
            fresh_rounds=0,
            student=replace(config.student, start_from=str(output)),
            training=replace(
                config.training,
                epochs=1,
                learning_rate=config.fresh_learning_rate,
                seed=config.training.seed + number,
            ),
        )
        scratch = output.with_name(f"{output.name}.round-{number}")
        shutil.rmtree(scratch, ignore_errors=True)
        trainer = DistillTrainer(fresh, scratch, teacher=teacher, show_progress=show_progress)
        student = trainer.fit(data)
        student.training = {**student.training, "fresh_round": number}
        student.save_config(scratch)
        retired = output.with_name(f"{output.name}.previous")
        shutil.rmtree(retired, ignore_errors=True)
        output.rename(retired)
        scratch.rename(output)
        shutil.rmtree(retired, ignore_errors=True)
    return student
