"""The voice assistant on MASSIVE dev: utterances spoken by espeak-ng, through Whisper base and
the NLU, next to the same utterances as text.

For each locale whose language an espeak-ng voice reads: how often Whisper names the spoken
language, word error rate of the transcripts (jiwer; character error rate for languages
written without spaces), intent accuracy and exact match (intent and the set of slot
type/value pairs, lowercased) on transcripts and on text; each clip is heard twice, with the
language identified (the default, timed) and with it given (as a device that knows its
user's language sends it). Per-stage latency (decode, ASR, NLU, skill, TTS, total)
p50/p95 on this machine, with Whisper's real-time factor, comes from the first.

    python benchmarks/voice.py --model MODEL [--per-locale 25]

Prints a table and writes benchmarks/results/voice.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tarfile
from pathlib import Path
from typing import Any

from common import ROOT, write_result
from rich.console import Console
from rich.progress import track
from rich.table import Table

from polynlu.assistant import Assistant, AssistantSettings
from polynlu.assistant.asr import MAX_TOKENS_PER_SECOND
from polynlu.assistant.tts import speak, voice_for, why_silent
from polynlu.langid import language_of
from polynlu.types import Interpretation

SHARED = ROOT.parent / "shared" / "data"
# Eight of served-int8's ten training locales: ja-JP and zh-CN have no espeak-ng voice that
# reads them (tts.CANNOT_READ); asked for, they are listed as not measured, with the reason.
LOCALES = ("en-US", "de-DE", "fr-FR", "es-ES", "ru-RU", "hi-IN", "tr-TR", "sw-KE")
# Written without spaces between words: scored by character error rate.
CHARACTER_LANGUAGES = ("ja", "zh", "th", "my", "km", "lo")
STRIP = " .?!。？"  # sentence punctuation Whisper adds and MASSIVE's text lacks
SLOT_MARK = re.compile(r"\[(\w+) : ([^\]]+)\]")
console = Console(width=160)  # the table is wide; logs are not terminals


def dev_rows(tarball: Path, locales: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            locale = Path(member.name).stem
            if member.name.endswith(".jsonl") and locale in locales:
                lines = archive.extractfile(member).read().decode("utf-8").splitlines()  # type: ignore[union-attr]
                rows[locale] = [r for r in map(json.loads, lines) if r.get("partition") == "dev"]
    return rows


def gold_slots(annotated: str) -> set[tuple[str, str]]:
    """MASSIVE's ``[slot : value]`` marks as (slot, value) pairs, lowercased."""
    return {(slot, value.strip().lower()) for slot, value in SLOT_MARK.findall(annotated)}


def exact(interpretation: Interpretation, intent: str, gold: set[tuple[str, str]]) -> bool:
    """The intent and the set of (slot, value) pairs, values lowercased."""
    found = {(slot.slot, slot.value.lower()) for slot in interpretation.slots}
    return interpretation.intent == intent and found == gold


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="An NLU model folder.")
    parser.add_argument(
        "--data", type=Path, default=SHARED / "amazon-massive-dataset-1.1-traindev.tar.gz"
    )
    parser.add_argument("--locales", default=",".join(LOCALES))
    parser.add_argument("--per-locale", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import jiwer

    locales = args.locales.split(",")
    rows = dev_rows(args.data, locales)
    assistant = Assistant.load(args.model, AssistantSettings(speak=True))
    assistant.handle_audio(speak("hello", "en-US")[0])  # load Whisper before timing anything
    stages: dict[str, list[float]] = {}
    rtf: list[float] = []
    short_totals: list[float] = []
    per_locale: dict[str, dict[str, Any]] = {}
    not_measured: dict[str, str] = {}
    for locale in locales:
        silent = why_silent(locale)
        if silent is not None:
            not_measured[locale] = silent
            console.print(f"[yellow]{locale} not measured: {silent}")
            continue
        sample = random.Random(args.seed).sample(rows[locale], args.per_locale)
        voice = voice_for(locale)
        references, hypotheses, hypotheses_given = [], [], []
        intent_text = intent_speech = exact_text = exact_speech = 0
        identified = intent_given = exact_given = 0
        for row in track(sample, description=f"{locale} ({voice})", console=console):
            gold = gold_slots(row["annot_utt"])
            typed = assistant.nlu.parse(row["utt"], locale)
            audio, _ = speak(row["utt"], locale)
            turn = assistant.handle_audio(audio)
            # The same clip with the language given, as a device that knows its user's
            # language would send it: separates misidentified languages from misheard words.
            given = assistant.handle_audio(audio, locale)
            assert turn.transcript is not None and given.transcript is not None
            references.append(row["utt"].lower())
            hypotheses.append(turn.transcript.text.lower().strip(STRIP))
            hypotheses_given.append(given.transcript.text.lower().strip(STRIP))
            identified += turn.locale == locale
            intent_text += typed.intent == row["intent"]
            intent_speech += turn.interpretation.intent == row["intent"]
            intent_given += given.interpretation.intent == row["intent"]
            exact_text += exact(typed, row["intent"], gold)
            exact_speech += exact(turn.interpretation, row["intent"], gold)
            exact_given += exact(given.interpretation, row["intent"], gold)
            for stage, ms in turn.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
            rtf.append(turn.timings_ms["asr"] / 1000 / turn.transcript.audio_seconds)
            if 2.0 <= turn.transcript.audio_seconds <= 4.0:
                short_totals.append(turn.timings_ms["total"])
        n = len(sample)
        by_character = language_of(locale) in CHARACTER_LANGUAGES
        error = jiwer.cer if by_character else jiwer.wer
        per_locale[locale] = {
            "voice": voice,
            "n": n,
            "error_measure": "CER" if by_character else "WER",
            "error_rate": round(100 * error(references, hypotheses), 1),
            "error_rate_language_given": round(100 * error(references, hypotheses_given), 1),
            "language_identified": round(100 * identified / n, 1),
            "intent_acc_text": round(100 * intent_text / n, 1),
            "intent_acc_speech": round(100 * intent_speech / n, 1),
            "intent_acc_speech_language_given": round(100 * intent_given / n, 1),
            "exact_match_text": round(100 * exact_text / n, 1),
            "exact_match_speech": round(100 * exact_speech / n, 1),
            "exact_match_speech_language_given": round(100 * exact_given / n, 1),
            "examples": [
                {"text": r, "heard": h}
                for r, h in list(zip(references, hypotheses, strict=True))[:3]
            ],
        }

    table = Table(title=f"Voice: {args.model.name}, Whisper base int8, espeak-ng, MASSIVE dev")
    for column in (
        "locale",
        "voice",
        "n",
        "language found",
        "WER/CER",
        "given",
        "intent text",
        "intent speech",
        "Δ",
        "given",
        "EM text",
        "EM speech",
        "given",
    ):
        table.add_column(column, justify="right")
    for locale, r in per_locale.items():
        table.add_row(
            locale,
            r["voice"],
            str(r["n"]),
            f"{r['language_identified']}",
            f"{r['error_rate']} {r['error_measure']}",
            f"{r['error_rate_language_given']}",
            f"{r['intent_acc_text']}",
            f"{r['intent_acc_speech']}",
            f"{r['intent_acc_speech'] - r['intent_acc_text']:+.1f}",
            f"{r['intent_acc_speech_language_given']}",
            f"{r['exact_match_text']}",
            f"{r['exact_match_speech']}",
            f"{r['exact_match_speech_language_given']}",
        )
    console.print(table)
    latency = {
        stage: {"p50": round(percentile(v, 0.5), 1), "p95": round(percentile(v, 0.95), 1)}
        for stage, v in stages.items()
    }
    timing = Table(title="Latency per stage (ms), 2 CPU cores")
    for column in ("stage", "p50", "p95"):
        timing.add_column(column, justify="right")
    for stage, values in latency.items():
        timing.add_row(stage, str(values["p50"]), str(values["p95"]))
    console.print(timing)
    short = {
        "n": len(short_totals),
        "p50": round(percentile(short_totals, 0.5), 1) if short_totals else None,
        "p95": round(percentile(short_totals, 0.95), 1) if short_totals else None,
    }
    console.print(
        f"requests of 2–4 s audio: n={short['n']}, total p50 {short['p50']} ms, "
        f"p95 {short['p95']} ms; Whisper real-time factor p50 "
        f"{percentile(rtf, 0.5):.3f}, p95 {percentile(rtf, 0.95):.3f}"
    )
    path = write_result(
        "voice",
        {
            "command": "python benchmarks/voice.py "
            + " ".join(
                f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "data"
            ),
            "model": str(args.model.name),
            "model_description": assistant.nlu.model.config().description,
            "asr": "Whisper base (CTranslate2 int8, greedy, one encoder pass, at most "
            f"{MAX_TOKENS_PER_SECOND} tokens a second of audio), languages limited to the "
            "model's training locales",
            "tts": "espeak-ng",
            "per_locale": per_locale,
            "not_measured": not_measured,
            "latency_ms": latency,
            "requests_2_to_4_s": short,
            "real_time_factor": {
                "p50": round(percentile(rtf, 0.5), 3),
                "p95": round(percentile(rtf, 0.95), 3),
            },
            "mean_intent_acc": {
                "text": round(
                    statistics.mean(r["intent_acc_text"] for r in per_locale.values()), 1
                ),
                "speech": round(
                    statistics.mean(r["intent_acc_speech"] for r in per_locale.values()), 1
                ),
                "speech_language_given": round(
                    statistics.mean(
                        r["intent_acc_speech_language_given"] for r in per_locale.values()
                    ),
                    1,
                ),
            },
        },
    )
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
