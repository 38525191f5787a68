"""Few examples, many languages: k examples an intent from MASSIVE en-US train, scored on dev.

    python benchmarks/few_shot.py                                   # k = 1, 5, 10, 20 × 5 seeds
    python benchmarks/few_shot.py --shots 10 --seeds 0 --systems polynlu,setfit

SetFit is not a polynlu dependency: ``pip install setfit==1.2.0`` for its rows (it brings
sentence-transformers and datasets; the measured runs used those versions with torch 2.13).

For each k and seed, k utterances of each of the 60 intents are drawn from en-US train (all of
an intent's when it has fewer). Each system trains on them alone, with no dev data: polynlu's
joint model takes the recipe ``polynlu train`` gives such data by default
(``recipe_for``) and is selected on its training examples, like the Snips protocol;
SetFit (Tunstall et al., 2022) fine-tunes the same bundled multilingual-e5-small contrastively
on sentence pairs, then fits a logistic-regression head (intents only); ``frozen-lr`` is that
head on the untouched encoder's mean-pooled embeddings: what the encoder alone gives.

Scored on all of en-US dev (2,033) and, for the 51 other locales, on the same sample of
``--dev-per-locale`` dev utterances in each (MASSIVE is parallel by ``id``): scoring every dev
utterance of every locale takes a quarter of an hour per model on 2 cores. Prints mean ± std
over seeds; writes benchmarks/results/few_shot.json (or ``--name``).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from common import dev_sample, write_result
from rich.console import Console
from rich.table import Table

from polynlu import NLU
from polynlu.data import MassiveData
from polynlu.data.example import Example
from polynlu.evaluation.evaluate import evaluate
from polynlu.options import add_arguments, options_for, with_options
from polynlu.training import TrainingData
from polynlu.training.config import TrainConfig, recipe_for
from polynlu.training.trainer import JointTrainer

SHARED = (
    Path(__file__).resolve().parents[2] / "shared/data/amazon-massive-dataset-1.1-traindev.tar.gz"
)
ENGLISH = "en-US"
SYSTEMS = ("polynlu", "setfit", "frozen-lr")


def draw(pool: Sequence[Example], shots: int, seed: int) -> list[Example]:
    by_intent: dict[str, list[Example]] = {}
    for example in pool:
        by_intent.setdefault(example.intent, []).append(example)
    generator = random.Random(seed)
    return [
        example
        for intent in sorted(by_intent)
        for example in generator.sample(by_intent[intent], min(shots, len(by_intent[intent])))
    ]


def intent_scores(dev: Sequence[Example], predicted: Sequence[str]) -> dict[str, dict[str, float]]:
    right: dict[str, list[bool]] = {}
    for example, intent in zip(dev, predicted, strict=True):
        right.setdefault(example.locale, []).append(example.intent == intent)
    return {locale: {"intent_acc": float(np.mean(v))} for locale, v in right.items()}


def summary(per_locale: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    others = [scores for locale, scores in per_locale.items() if locale != ENGLISH]
    return {
        ENGLISH: per_locale[ENGLISH],
        "51_locales": {metric: float(np.mean([s[metric] for s in others])) for metric in others[0]},
    }


def run_polynlu(
    train: list[Example], dev: list[Example], scratch: Path, seed: int, options: dict[str, Any]
) -> Any:
    config = with_options(recipe_for(train, seed=seed), **options)
    started = time.perf_counter()
    # No dev data in a few-shot setting: the epoch is chosen on the training examples.
    model = JointTrainer(config, scratch / "model", show_progress=False).fit(
        TrainingData(train, train)
    )
    seconds = time.perf_counter() - started
    result = evaluate(NLU(model, detect_language=False), dev, show_progress=False)
    per_locale = {loc: s.as_dict() for loc, s in result.locales.items()}
    for scores in per_locale.values():
        scores.pop("n", None)
    return per_locale, seconds, asdict(config)


def _sentence_transformer(folder: Path) -> Any:
    """The bundled backbone as a sentence-transformers model (mean pooling, as e5 is)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models
    from transformers import PreTrainedTokenizerFast

    from polynlu.models.backbones.registry import DEFAULT_BACKBONE, load_backbone

    backbone = load_backbone(DEFAULT_BACKBONE, show_progress=False)
    backbone.encoder.save_pretrained(folder)
    PreTrainedTokenizerFast(
        tokenizer_object=backbone.tokenizer,
        bos_token="<s>",
        cls_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
    ).save_pretrained(folder)
    return SentenceTransformer(
        modules=[
            st_models.Transformer(str(folder), max_seq_length=64),
            st_models.Pooling(backbone.hidden_size, "mean"),
        ],
        device="cpu",
    )


def run_setfit(
    train: list[Example], dev: list[Example], scratch: Path, seed: int, iterations: int
) -> Any:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    from sklearn.linear_model import LogisticRegression

    labels = sorted({e.intent for e in train})
    index = {name: i for i, name in enumerate(labels)}
    model = SetFitModel(
        model_body=_sentence_transformer(scratch / "setfit-body"),
        model_head=LogisticRegression(max_iter=1000),
    )
    arguments = TrainingArguments(
        output_dir=str(scratch / "setfit-checkpoints"),  # its own checkpoints, thrown away
        batch_size=16,
        num_epochs=1,
        num_iterations=iterations,
        seed=seed,
        report_to="none",
    )
    data = Dataset.from_dict(
        {"text": [e.utt for e in train], "label": [index[e.intent] for e in train]}
    )
    started = time.perf_counter()
    Trainer(model=model, args=arguments, train_dataset=data).train()
    seconds = time.perf_counter() - started
    predicted = model.predict([e.utt for e in dev], batch_size=64)
    settings = {"num_iterations": iterations, "batch_size": 16, "num_epochs": 1}
    return intent_scores(dev, [labels[int(i)] for i in predicted]), seconds, settings


def run_frozen(train: list[Example], dev: list[Example], scratch: Path, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    encoder = _sentence_transformer(scratch / "frozen-body")
    started = time.perf_counter()
    embed: Callable[[list[str]], np.ndarray] = lambda texts: encoder.encode(  # noqa: E731
        texts, batch_size=64, normalize_embeddings=True
    )
    head = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
    head.fit(embed([e.utt for e in train]), [e.intent for e in train])
    seconds = time.perf_counter() - started
    predicted = head.predict(embed([e.utt for e in dev]))
    return intent_scores(dev, list(predicted)), seconds, {"C": 10.0, "normalized": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--shots", default="1,5,10,20")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--dev-per-locale", type=int, default=100)
    parser.add_argument(
        "--setfit-iterations", type=int, default=20, help="SetFit's pairs per example (its default)"
    )
    parser.add_argument("--name", default="few_shot")
    add_arguments(parser, TrainConfig)  # polynlu's options over its few-shot recipe
    args = parser.parse_args()
    options = options_for(TrainConfig, args)
    console = Console()
    systems = args.systems.split(",")
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown system(s) {', '.join(sorted(unknown))}; choose from {SYSTEMS}")
    needed = {"setfit": "setfit", "frozen-lr": "sentence_transformers"}
    for system in systems:
        if system in needed and importlib.util.find_spec(needed[system]) is None:
            parser.error(f"'{system}' needs SetFit and its dependencies: pip install setfit==1.2.0")

    data = MassiveData(args.data)
    pool = data.read([ENGLISH], "train", show_progress=False).examples
    dev = dev_sample(data.read(data.locales, "dev").examples, ENGLISH, args.dev_per_locale)
    console.print(
        f"dev: {len(dev):,} utterances ({ENGLISH} whole, {args.dev_per_locale} per other locale)"
    )
    runs: list[dict[str, Any]] = []
    for shots in [int(k) for k in args.shots.split(",")]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            train = draw(pool, shots, seed)
            for system in systems:
                with tempfile.TemporaryDirectory() as folder:
                    scratch = Path(folder)
                    if system == "polynlu":
                        per_locale, seconds, settings = run_polynlu(
                            train, dev, scratch, seed, options
                        )
                    elif system == "setfit":
                        per_locale, seconds, settings = run_setfit(
                            train, dev, scratch, seed, args.setfit_iterations
                        )
                    else:
                        per_locale, seconds, settings = run_frozen(train, dev, scratch, seed)
                    shutil.rmtree(scratch, ignore_errors=True)
                scores = summary(per_locale)
                runs.append(
                    {
                        "system": system,
                        "shots": shots,
                        "seed": seed,
                        "train_utterances": len(train),
                        "train_seconds": round(seconds, 1),
                        "settings": settings,
                        "scores": scores,
                        "locales": per_locale,
                    }
                )
                console.print(
                    f"k={shots} seed={seed} {system}: {ENGLISH} intent "
                    f"{100 * scores[ENGLISH]['intent_acc']:.1f}, 51 locales intent "
                    f"{100 * scores['51_locales']['intent_acc']:.1f} ({seconds:.0f} s training)"
                )
                write_result(
                    args.name,
                    {"benchmark": "few_shot", "dev_per_locale": args.dev_per_locale, "runs": runs},
                )
    console.print(table(runs))


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{100 * values[0]:.1f}"
    return f"{100 * statistics.fmean(values):.1f} ± {100 * statistics.stdev(values):.1f}"


def table(runs: list[dict[str, Any]]) -> Table:
    result = Table(title="Few-shot, dev (%): intent accuracy · exact match · slot F1")
    for column in ("k", "system", "seeds", "en-US", "51 locales", "training s"):
        result.add_column(column)
    keys = sorted({(r["shots"], r["system"]) for r in runs})
    for shots, system in keys:
        group = [r for r in runs if (r["shots"], r["system"]) == (shots, system)]
        cells = []
        for where in (ENGLISH, "51_locales"):
            metrics = [
                m
                for m in ("intent_acc", "exact_match", "slot_f1")
                if m in group[0]["scores"][where]
            ]
            cells.append(
                " · ".join(_mean_std([r["scores"][where][m] for r in group]) for m in metrics)
            )
        seconds = statistics.fmean(r["train_seconds"] for r in group)
        result.add_row(str(shots), system, str(len(group)), *cells, f"{seconds:.0f}")
    return result


if __name__ == "__main__":
    main()
