"""Japanese particles with sub-words of their own, against the natural pieces, on one model.

    python benchmarks/japanese_particles.py runs/supervision/zero-shot

A model trained before ``TrainConfig.japanese_particles`` reads Japanese with the natural
pieces; this scores ja-JP dev (all of it) as it is, then with its tokenizer given the split
(``polynlu.models.features.split_japanese_particles``) and, for comparison, with every
hiragana run split off. For a zero-shot model (trained on en-US, which has no kana) the split
changes nothing the model was trained on, so the difference is the split's alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import write_result
from rich.console import Console
from rich.table import Table

from polynlu import NLU
from polynlu.data import MassiveData, parse_locale_list
from polynlu.evaluation.evaluate import METRICS, evaluate
from polynlu.models.features import (
    JAPANESE_PARTICLES,
    split_japanese_particles,
    split_pieces_at,
)
from polynlu.models.featurized import FeaturizedModel

SHARED = (
    Path(__file__).resolve().parents[2] / "shared/data/amazon-massive-dataset-1.1-traindev.tar.gz"
)
EVERY_HIRAGANA_RUN = r"\p{Hiragana}+"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--locales", default="ja-JP")
    parser.add_argument("--name", default="japanese_particles")
    args = parser.parse_args()
    console = Console()
    data = MassiveData(args.data)
    locales = parse_locale_list(args.locales, data.locales)
    dev = data.read(locales, "dev", show_progress=False).examples
    model = NLU.load(args.model, detect_language=False).model
    if not isinstance(model, FeaturizedModel):
        raise SystemExit(f"{args.model} is not a model that reads sub-words")
    natural = model.featurizer.tokenizer
    if "は" in natural.encode("今日は").tokens:
        raise SystemExit(f"{args.model} splits the particles already: give an older model")
    variants = {
        "natural pieces": natural,
        "particles split (JAPANESE_PARTICLES)": split_japanese_particles(natural),
        "every hiragana run split": split_pieces_at(natural, EVERY_HIRAGANA_RUN),
    }
    rows: dict[str, dict[str, dict[str, float]]] = {}
    table = Table(title=f"{args.model}: dev (%), exact match · intent accuracy · slot F1")
    table.add_column("pieces")
    for locale in locales:
        table.add_column(locale)
    for name, tokenizer in variants.items():
        model.featurizer.tokenizer = tokenizer
        result = evaluate(NLU(model, detect_language=False), dev, show_progress=False)
        rows[name] = {loc: s.as_dict() for loc, s in result.locales.items()}
        table.add_row(
            name,
            *(
                " · ".join(f"{100 * getattr(result.locales[loc], m):.1f}" for m in METRICS)
                for loc in locales
            ),
        )
    console.print(table)
    path = write_result(
        args.name,
        {
            "benchmark": "japanese_particles",
            "model": str(args.model),
            "model_description": model.config().description,
            "split": "dev",
            "particles": JAPANESE_PARTICLES,
            "rows": rows,
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
