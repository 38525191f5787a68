"""Lexicon adaptation for an assistant: MASSIVE intents and slots in the locales a GATITOS
lexicon covers, trained on en-US alone, then with the lexicons.

    python benchmarks/lexicon_assistant.py                         # ~45 min on 2 cores
    python benchmarks/lexicon_assistant.py --skip-training         # score WORK's models again
    python benchmarks/lexicon_assistant.py --reuse-english --adapt-mode translate \
        --name lexicon_assistant-translate                         # another adapted model

The models are trained and scored with the commands a user runs (printed as they go):

    polynlu train --data MASSIVE --train-locales en-US --output english
    polynlu train --data MASSIVE --train-locales en-US --output adapted \\
        --lexicon GATITOS --adapt-locales <the MASSIVE locales with a GATITOS lexicon> \\
        --adapt-mode MODE [--adapt-per-locale N]
    polynlu evaluate MODEL --data MASSIVE --split dev --locales en-US,<those> [--lexicon GATITOS]

Each model is scored as it is and reading requests back into English with the lexicons
(``--lexicon`` on evaluate). GATITOS' 173 lexicons cover three MASSIVE locales, es-ES, fr-FR
and hi-IN, all languages the encoder saw in pre-training: this measures what a lexicon does
for an assistant in a language the encoder already knows, not reach. Dev split (MASSIVE's
test split is withheld). Writes benchmarks/results/lexicon_assistant.json.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from common import SHARED_DATA, polynlu, scored, training_record, unpack, write_result
from rich.console import Console
from rich.table import Table

from polynlu.augment.lexicons import ADAPT_MODES, AdaptSettings
from polynlu.data.lexicons import read_lexicons
from polynlu.data.locales import locale_for, massive_locales
from polynlu.models.backbones.registry import DEFAULT_BACKBONE

METRICS = ("exact_match", "intent_acc", "slot_f1")
console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=SHARED_DATA / "amazon-massive-dataset-1.1-traindev.tar.gz"
    )
    parser.add_argument("--lexicons", type=Path, default=SHARED_DATA / "gatitos-en-xx.tar.gz")
    parser.add_argument("--work", type=Path, default=Path("lexicon_assistant"))
    parser.add_argument(
        "--adapt-mode",
        choices=ADAPT_MODES,
        default=AdaptSettings.mode,
        help="How the adapted model uses the lexicons (`polynlu train --adapt-mode`).",
    )
    parser.add_argument(
        "--adapt-per-locale",
        type=int,
        default=2000,
        help="With --adapt-mode translate: en-US train utterances translated into each "
        "language (of 11,514).",
    )
    parser.add_argument(
        "--adapt-options", default="", help="More `polynlu train` options for the adapted model."
    )
    parser.add_argument("--skip-training", action="store_true", help="Reuse WORK's models.")
    parser.add_argument(
        "--reuse-english",
        action="store_true",
        help="Reuse WORK's English-only model and its scores where they exist; train the "
        "adapted one.",
    )
    parser.add_argument(
        "--max-per-locale", type=int, default=None, help="Cap en-US train (a quick run)."
    )
    parser.add_argument("--name", default="lexicon_assistant")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    lexicon_folder = unpack(args.lexicons, args.work, "gatitos")
    lexicons = read_lexicons(lexicon_folder, skip_invalid=True)
    known = massive_locales()
    covered = sorted(
        locale for locale in (locale_for(code, known) for code in lexicons) if locale is not None
    )
    console.print(f"MASSIVE locales with a GATITOS lexicon: {', '.join(covered)}")
    locales = ["en-US", *covered]

    common = ["--data", str(args.data), "--train-locales", "en-US", "--no-progress"]
    if args.max_per_locale:
        common += ["--max-per-locale", str(args.max_per_locale)]
    adapt = ["--lexicon", str(lexicon_folder), "--adapt-locales", ",".join(covered)]
    adapt += ["--adapt-mode", args.adapt_mode, "--skip-invalid"]
    per_locale = args.adapt_per_locale if args.adapt_mode == "translate" else None
    if per_locale:
        adapt += ["--adapt-per-locale", str(per_locale)]
    adapt += args.adapt_options.split()
    models = {"english": args.work / "english", "adapted": args.work / args.name}
    reuse = args.reuse_english and (models["english"] / "config.json").is_file()
    if not args.skip_training:
        if not reuse:
            polynlu("train", *common, "--output", str(models["english"]))
        polynlu("train", *common, *adapt, "--output", str(models["adapted"]))

    reading = ["--lexicon", str(lexicon_folder), "--skip-invalid"]
    scores: dict[str, dict[str, dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    for name, model in models.items():
        for label, options in ((name, []), (f"{name} + reading", reading)):
            folder = args.work / f"eval-{model.name}{'-reading' if options else ''}"
            metrics, took = scored(
                model, folder, "--data", str(args.data), "--split", "dev",
                "--locales", ",".join(locales), "--no-progress", *options,
                reuse=reuse and name == "english",
            )  # fmt: skip
            if took is not None:
                seconds[f"evaluate {label}"] = round(took, 1)
            by_locale = metrics["locales"]
            scores[label] = {
                locale: {m: round(100 * by_locale[locale][m], 2) for m in METRICS}
                for locale in locales
            }
            scores[label]["average"] = {
                m: round(statistics.fmean(scores[label][loc][m] for loc in covered), 2)
                for m in METRICS
            }

    table = Table(
        title="MASSIVE dev (%): exact match per locale; the three metrics averaged over "
        + ", ".join(covered),
        header_style="bold",
    )
    table.add_column("model")
    for locale in locales:
        table.add_column(locale, justify="right")
    for heading in ("exact", "intent", "slot F1"):
        table.add_column(f"avg {heading}", justify="right")
    for label, by_locale in scores.items():
        table.add_row(
            label,
            *(f"{by_locale[locale]['exact_match']:.1f}" for locale in locales),
            *(f"{by_locale['average'][metric]:.1f}" for metric in METRICS),
        )
    console.print(table)
    payload = {
        "data": "MASSIVE 1.1 dev (2,033 utterances a locale); trained on en-US train",
        "model": f"joint, {DEFAULT_BACKBONE}, polynlu train's default recipe for the data",
        "locales": locales,
        "adapted_locales": covered,
        "adapt_mode": args.adapt_mode,
        "adapt_per_locale": per_locale,
        "adapt_options": args.adapt_options,
        "max_per_locale": args.max_per_locale,
        "training_seconds": {
            name: training_record(model)["seconds"] for name, model in models.items()
        },
        "seconds": seconds,
        "scores": scores,
    }
    console.print(f"Wrote {write_result(args.name, payload)}")


if __name__ == "__main__":
    main()
