"""How far polynlu reaches: SIB-200 topic classification on 205 language varieties, trained on
English alone, then with lexicon adaptation; and the language identifier on every variety.

    python benchmarks/language_reach.py --reading             # everything, ~40 min on 2 cores
    python benchmarks/language_reach.py --adapt-mode translate --adapt-per-locale 50
    python benchmarks/language_reach.py --english-only --reading   # reading, no adaptation
    python benchmarks/language_reach.py --english-only --one-language quy_Latn   # one language
    python benchmarks/language_reach.py --english-only --extend-vocabulary   # new pieces
    python benchmarks/language_reach.py --reuse-english --self-train 50   # unlabelled text

Both models are trained and scored with the commands a user runs (printed as they go):

    polynlu train --data SIB --train-locales eng_Latn --output english
    polynlu train --data SIB --train-locales eng_Latn --output adapted \\
        --lexicon GATITOS --adapt-locales <every SIB variety with a GATITOS lexicon> \\
        --adapt-mode code-switch
    polynlu extend-vocabulary MODEL --lexicon GATITOS --output MODEL-extended  # with --extend-…
    polynlu self-train MODEL --data SIB --unlabeled-per-locale N --output MODEL-self-trained
    polynlu evaluate MODEL --data SIB --split dev --output …

Reported on dev (SIB-200's test split is withheld), per variety and averaged over (a) all
205, (b) the languages the encoder saw in pre-training, (c) those it did not, (d) those of
(c) with a GATITOS lexicon; the sub-word tokenizer's unknown-token rate by script; and the
identifier's accuracy per variety. Writes benchmarks/results/language_reach.json and a plot
of accuracy per variety, sorted, coloured by seen / unseen.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from common import RESULTS, SHARED_DATA, polynlu, scored, training_record, unpack, write_result
from rich.console import Console
from rich.table import Table
from tokenizers import Tokenizer

from polynlu.augment.lexicons import ADAPT_MODES, AdaptSettings, target_locale
from polynlu.data.formats import read_data
from polynlu.data.lexicons import read_lexicons
from polynlu.data.locales import find_language, languages, locale_info
from polynlu.langid import MIN_LANGUAGE_SCORE, LanguageIdentifier
from polynlu.models.backbones.registry import DEFAULT_BACKBONE, load_backbone

console = Console()


def identify(examples: list[Any]) -> dict[str, dict[str, Any]]:
    """The bundled identifier on each variety's dev sentences: how often it names the
    variety's language (the BCP-47 language of the table, ``qu`` for ``quy_Latn``)."""
    identifier = LanguageIdentifier(min_score=0.0)  # its raw answers; the cut-off is scored apart
    by_variety: dict[str, list[Any]] = defaultdict(list)
    for example in examples:
        by_variety[example.locale].append(example)
    result = {}
    for variety, group in sorted(by_variety.items()):
        language = find_language(variety)
        expected = language.bcp47.split("-")[0] if language else variety
        answers = [identifier.detect(example.utt) for example in group]
        named = Counter(answer.language if answer else "none" for answer in answers)
        right = [a for a in answers if a is not None and a.language == expected]
        result[variety] = {
            "accuracy": 100 * len(right) / len(group),
            "most_named": named.most_common(1)[0][0],
            "mean_score": statistics.fmean(a.score for a in answers if a is not None),
            "scores_right": [round(a.score, 3) for a in right],
            "scores_wrong": [
                round(a.score, 3) for a in answers if a is not None and a.language != expected
            ],
        }
    return result


def unknown_rates(examples: list[Any], tokenizer: Tokenizer | None = None) -> dict[str, float]:
    """Per variety, the share of sub-word tokens the encoder's vocabulary (or ``tokenizer``'s)
    maps to <unk>."""
    tokenizer = tokenizer or load_backbone(DEFAULT_BACKBONE, show_progress=False).tokenizer
    unk = tokenizer.token_to_id("<unk>")
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for example in examples:
        ids = tokenizer.encode(example.utt, add_special_tokens=False).ids
        counts[example.locale][0] += sum(token == unk for token in ids)
        counts[example.locale][1] += len(ids)
    return {
        variety: 100 * unk_count / max(total, 1) for variety, (unk_count, total) in counts.items()
    }


def averages(accuracy: dict[str, float], groups: dict[str, list[str]]) -> dict[str, float]:
    return {
        name: round(statistics.fmean(accuracy[v] for v in members), 2)
        for name, members in groups.items()
        if members
    }


def by_script(rates: dict[str, float], varieties: list[str]) -> dict[str, float]:
    """The mean of ``rates`` over each script's varieties (``quy_Latn`` → ``Latn``)."""
    grouped: dict[str, list[float]] = defaultdict(list)
    for variety in varieties:
        grouped[variety.split("_")[1]].append(rates[variety])
    return {s: round(statistics.fmean(r), 2) for s, r in sorted(grouped.items())}


def plot(models: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(len(models), 1, figsize=(16, 4.2 * len(models)), dpi=110)
    colours = {"seen": "tab:blue", "unseen": "tab:orange"}
    for axes, (name, accuracy) in zip(
        panels if len(models) > 1 else [panels], models.items(), strict=True
    ):
        ordered = sorted(accuracy, key=lambda v: -accuracy[v])
        seen = [locale_info(v).pretraining if locale_info(v) else "unseen" for v in ordered]
        axes.bar(
            range(len(ordered)),
            [accuracy[v] for v in ordered],
            color=[colours.get(s, "grey") for s in seen],
        )
        axes.set_xticks(range(len(ordered)), ordered, rotation=90, fontsize=5)
        axes.set_ylim(0, 100)
        axes.set_ylabel("accuracy (%)")
        axes.set_title(f"SIB-200 dev, {name}: accuracy per variety", fontsize=10)
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
        axes.legend(handles, ["seen in pre-training", "unseen"], loc="upper right", fontsize=8)
        axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _one_language(
    args: argparse.Namespace, sib: Path, lexicon_folder: Path, train: list[str]
) -> dict[str, Any] | None:
    """With --one-language: English plus that one variety's lexicon, as a user adapting to
    one new language trains it; its training time and its accuracy on both."""
    variety = args.one_language
    if not variety:
        return None
    model = args.work / f"adapted-{variety}"
    if not args.skip_training:
        adapt = ["--lexicon", str(lexicon_folder), "--adapt-locales", variety]
        adapt += ["--adapt-mode", args.adapt_mode]
        if args.adapt_per_locale:
            adapt += ["--adapt-per-locale", str(args.adapt_per_locale)]
        polynlu("train", *train, *adapt, *args.adapt_options.split(), "--output", str(model))
    folder = args.work / f"eval-adapted-{variety}"
    polynlu(
        "evaluate", str(model), "--data", str(sib), "--split", "dev",
        "--locales", f"eng_Latn,{variety}", "--output", str(folder), "--skip-invalid",
        "--no-progress",
    )  # fmt: skip
    metrics = json.loads((folder / "metrics.json").read_text("utf-8"))["locales"]
    accuracy = {v: 100 * s["intent_acc"] for v, s in metrics.items()}
    training = training_record(model)
    console.print(
        f"Adapted to {variety} alone: {accuracy[variety]:.1f} on it, {accuracy['eng_Latn']:.1f} "
        f"on English; trained in {training['seconds']} s"
    )
    return {"variety": variety, "training": training, "accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sib", type=Path, default=SHARED_DATA / "sib-200-traindev.tar.gz")
    parser.add_argument("--lexicons", type=Path, default=SHARED_DATA / "gatitos-en-xx.tar.gz")
    parser.add_argument("--work", type=Path, default=Path("language_reach"))
    parser.add_argument(
        "--adapt-per-locale",
        type=int,
        default=None,
        help="With --adapt-mode translate: English sentences translated into each language "
        "[default: all 701].",
    )
    parser.add_argument("--skip-training", action="store_true", help="Reuse WORK's models.")
    parser.add_argument(
        "--reuse-english",
        action="store_true",
        help="Reuse WORK's English-only model where it exists; train the adapted one.",
    )
    parser.add_argument(
        "--adapt-mode",
        choices=ADAPT_MODES,
        default=AdaptSettings.mode,
        help="How the adapted models use the lexicons (`polynlu train --adapt-mode`).",
    )
    parser.add_argument(
        "--adapt-options",
        default="",
        help="More `polynlu train` options for the adapted model: '--adapt-align'.",
    )
    parser.add_argument(
        "--reading",
        action="store_true",
        help="Also score each model reading requests back into English with the lexicons.",
    )
    parser.add_argument(
        "--name", default="language_reach", help="The result's name in benchmarks/results."
    )
    parser.add_argument("--epochs", type=int, default=None, help="Override the recipe's epochs.")
    parser.add_argument(
        "--english-only",
        action="store_true",
        help="Only the English-only model (with --reading, also reading with the lexicons): "
        "to measure a change in reading without training an adapted model.",
    )
    parser.add_argument(
        "--one-language",
        metavar="VARIETY",
        help="Also adapt to this variety alone (English and its lexicon), timing the training, "
        "and score that model on English and the variety.",
    )
    parser.add_argument(
        "--self-train",
        type=int,
        metavar="N",
        help="Also self-train each model on N unlabelled train sentences of every other "
        "variety (`polynlu self-train`), and score the result.",
    )
    parser.add_argument(
        "--extend-vocabulary",
        action="store_true",
        help="Also score each model with new pieces for the scripts its tokenizer lacks "
        "(`polynlu extend-vocabulary` with the lexicons).",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sib = unpack(args.sib, args.work, "sib-200")
    lexicon_folder = unpack(args.lexicons, args.work, "gatitos")

    data = read_data(sib, format="sib", skip_invalid=True)
    dev = [example for example in data.examples if example.partition == "dev"]
    varieties = sorted({example.locale for example in dev})
    lexicons = read_lexicons(lexicon_folder, skip_invalid=True)
    with_lexicon = sorted({target_locale(code, varieties) for code in lexicons} & set(varieties))
    seen = [v for v in varieties if locale_info(v) and locale_info(v).pretraining == "seen"]
    unseen = [v for v in varieties if v not in seen]
    groups = {
        "all": varieties,
        "seen": seen,
        "unseen": unseen,
        "unseen, with lexicon": [v for v in unseen if v in with_lexicon],
        "seen, with lexicon": [v for v in seen if v in with_lexicon],
    }
    console.print(
        f"SIB-200 dev: {len(varieties)} varieties, {len(seen)} seen in pre-training; "
        f"{len(with_lexicon)} have a GATITOS lexicon ({len(groups['unseen, with lexicon'])} "
        f"unseen); {len(data.skipped)} rows skipped (unreadable)"
    )

    started = time.perf_counter()
    langid = identify(dev)
    langid_seconds = time.perf_counter() - started
    unk = unknown_rates(dev)

    extra = ["--epochs", str(args.epochs)] if args.epochs else []
    common = ["--data", str(sib), "--train-locales", "eng_Latn", "--skip-invalid", "--no-progress"]
    adapted = "adapted" if args.name == "language_reach" else args.name
    models = {"english": args.work / "english", "adapted": args.work / adapted}
    if args.english_only:
        del models["adapted"]
    adapt = ["--lexicon", str(lexicon_folder), "--adapt-locales", ",".join(with_lexicon)]
    adapt += ["--adapt-mode", args.adapt_mode]
    if args.adapt_per_locale:
        adapt += ["--adapt-per-locale", str(args.adapt_per_locale)]
    adapt += args.adapt_options.split()
    seconds: dict[str, float] = {}
    reuse = args.reuse_english and (models["english"] / "config.json").is_file()
    reused = {models["english"]} if reuse else set()  # not trained again: their scores stand
    if not args.skip_training:
        if not reuse:
            seconds["english"] = polynlu(
                "train", *common, *extra, "--output", str(models["english"])
            )
        if "adapted" in models:
            seconds["adapted"] = polynlu(
                "train", *common, *extra, *adapt, "--output", str(models["adapted"])
            )
    one_language = _one_language(args, sib, lexicon_folder, [*common, *extra])
    if args.self_train:  # real unlabelled text in every other variety, labels never read
        for name, model in list(models.items()):
            trained = model.with_name(f"{model.name}-self-trained")
            kept = args.skip_training or model in reused
            if kept and (trained / "config.json").is_file():
                reused.add(trained)
            else:
                seconds[f"self-train {name}"] = polynlu(
                    "self-train", str(model), "--data", str(sib), "--unlabeled-per-locale",
                    str(args.self_train), "--skip-invalid", "--no-progress",
                    "--output", str(trained),
                )  # fmt: skip
            models[f"{name} + self-trained"] = trained
    if args.extend_vocabulary:  # no training: the same models, with new pieces
        for name, model in list(models.items()):
            extended = model.with_name(f"{model.name}-extended")
            if not (args.skip_training and (extended / "config.json").is_file()):
                seconds[f"extend {name}"] = polynlu(
                    "extend-vocabulary", str(model), "--lexicon", str(lexicon_folder),
                    "--skip-invalid", "--output", str(extended),
                )  # fmt: skip
            models[f"{name} + new pieces"] = extended
    # Each model as it is, and (--reading) reading requests back into English with the
    # same lexicons while parsing (``polynlu evaluate --lexicon``).
    scorings: list[tuple[str, Path, list[str]]] = [(n, m, []) for n, m in models.items()]
    if args.reading:
        reading = ["--lexicon", str(lexicon_folder)]
        scorings += [(f"{name} + reading", model, reading) for name, model in models.items()]
    accuracy: dict[str, dict[str, float]] = {}
    for name, model, options in scorings:
        folder = args.work / f"eval-{model.name}{'-reading' if options else ''}"
        untouched = args.skip_training or model in reused
        metrics, took = scored(
            model, folder, "--data", str(sib), "--split", "dev", "--skip-invalid",
            "--no-progress", *options, reuse=untouched,
        )  # fmt: skip
        if took is not None:
            seconds[f"evaluate {name}"] = took
        accuracy[name] = {v: 100 * s["intent_acc"] for v, s in metrics["locales"].items()}

    summary = {name: averages(acc, groups) for name, acc in accuracy.items()}
    english_en = accuracy["english"]["eng_Latn"]
    adapted_accuracy = accuracy.get("adapted", {})
    drops = {v: adapted_accuracy[v] - accuracy["english"][v] for v in seen if adapted_accuracy}
    table = Table(title="SIB-200 dev accuracy (%), averaged over varieties", header_style="bold")
    table.add_column("varieties")
    table.add_column("n", justify="right")
    for name in accuracy:
        table.add_column(name if name == "english" else f"{name} (Δ)", justify="right")
    for group, members in groups.items():
        if not members:
            continue
        base = summary["english"][group]
        table.add_row(
            group,
            str(len(members)),
            *(
                f"{summary[name][group]:.1f}"
                + ("" if name == "english" else f" ({summary[name][group] - base:+.1f})")
                for name in accuracy
            ),
        )
    console.print(table)
    scripts = by_script(unk, varieties)
    console.print(
        "Unknown sub-words by script (%): "
        + ", ".join(f"{s} {r:.1f}" for s, r in sorted(scripts.items(), key=lambda i: -i[1]))
    )
    extended_unk: dict[str, float] = {}
    if args.extend_vocabulary:
        tokenizer = Tokenizer.from_file(str(models["english + new pieces"] / "tokenizer.json"))
        extended_unk = unknown_rates(dev, tokenizer)
        extended_scripts = by_script(extended_unk, varieties)
        console.print(
            "… with the new pieces (%): "
            + ", ".join(
                f"{s} {scripts[s]:.1f} → {r:.1f}"
                for s, r in sorted(extended_scripts.items(), key=lambda i: -scripts[i[0]])
                if scripts[s] >= 1
            )
        )
    langid_accuracy = {v: round(r["accuracy"], 1) for v, r in langid.items()}
    console.print(
        f"Language identification: {statistics.fmean(langid_accuracy.values()):.1f}% on average;"
        f" {sum(a >= 50 for a in langid_accuracy.values())} of {len(varieties)} varieties named"
        " right at least half the time"
    )
    right = [score for r in langid.values() for score in r["scores_right"]]
    wrong = [score for r in langid.values() for score in r["scores_wrong"]]
    cutoff = {
        "min_score": MIN_LANGUAGE_SCORE,
        "right_answers_kept": round(
            100 * sum(s >= MIN_LANGUAGE_SCORE for s in right) / len(right), 1
        ),
        "wrong_answers_unknown": round(
            100 * sum(s < MIN_LANGUAGE_SCORE for s in wrong) / len(wrong), 1
        ),
    }
    console.print(
        f"With the cut-off at {MIN_LANGUAGE_SCORE}: {cutoff['right_answers_kept']}% of its right "
        f"answers kept, {cutoff['wrong_answers_unknown']}% of its wrong ones become 'unknown'"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(accuracy, RESULTS / f"{args.name}.png")
    payload = {
        "command": "python benchmarks/language_reach.py " + " ".join(sys.argv[1:]),
        "data": "SIB-200 dev (99 sentences a variety); trained on eng_Latn train (701)",
        "model": f"joint, {DEFAULT_BACKBONE}, polynlu train's default recipe for the data",
        "adapt_mode": args.adapt_mode,
        "adapt_per_locale": args.adapt_per_locale,
        "adapt_options": args.adapt_options,
        "self_train_per_locale": args.self_train,
        "training": {name: training_record(model) for name, model in models.items()},
        "adapted_locales": with_lexicon,
        "groups": {name: len(members) for name, members in groups.items()},
        "averages": summary,
        "english_accuracy_on_english": english_en,
        "seen_largest_drop": min(drops.values()) if drops else None,
        "one_language": one_language
        and {**one_language, "english_only": accuracy["english"][args.one_language]},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "accuracy": accuracy,
        "unknown_subwords_by_script": scripts,
        "unknown_subwords": {v: round(r, 2) for v, r in unk.items()},
        "unknown_subwords_with_new_pieces": {v: round(r, 2) for v, r in extended_unk.items()},
        "unknown_subwords_by_script_with_new_pieces": by_script(extended_unk, varieties)
        if extended_unk
        else {},
        "langid": {
            "seconds": round(langid_seconds, 1),
            "mean_accuracy": round(statistics.fmean(langid_accuracy.values()), 1),
            "accuracy": langid_accuracy,
            "most_named": {v: r["most_named"] for v, r in langid.items()},
            "mean_score": {v: round(r["mean_score"], 3) for v, r in langid.items()},
            "cutoff": cutoff,
        },
        "languages_table": f"{len(languages())} varieties in polynlu/data/languages.tsv",
    }
    path = write_result(args.name, payload)
    (args.work / "langid_scores.json").write_text(
        json.dumps(
            {v: {"right": r["scores_right"], "wrong": r["scores_wrong"]} for v, r in langid.items()}
        ),
        "utf-8",
    )
    console.print(f"Wrote {path} and {RESULTS / f'{args.name}.png'}")


if __name__ == "__main__":
    main()
