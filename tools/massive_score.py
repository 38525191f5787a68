#!/usr/bin/env python3
"""An independent scorer for polynlu's predictions.jsonl, following MASSIVE's official code.

It deliberately shares no code with polynlu (standard library only). It reads gold
``annot_utt`` exactly as MASSIVE's ``create_hf_dataset.py`` does: whitespace chunks; in
ja/zh, an all-ASCII chunk is one token (its ``]`` stripped, *and the slot label kept* for what
follows: the official script's quirk), any other chunk one token per character, a ``]``
character ending the slot. Predicted ``pred_annot_utt`` is polynlu's rendering of predicted
spans, so its slots end at their ``]``. It builds BIO tags from runs of equal labels as
``convert_to_bio`` does, pads/truncates predictions with ``Other``, and counts chunks itself for
micro-F1 (seqeval's default, non-strict mode, agrees on BIO made from runs).
``--chunking corrected`` reads gold without the quirk, as polynlu's ``corrected`` scores do.

    python tools/massive_score.py --data DATA --predictions DIR/predictions.jsonl \
        [--metrics DIR/metrics.json] [--split dev] [--chunking official|corrected]

With ``--metrics`` it checks that both agree to 4 decimal places (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from collections import defaultdict
from pathlib import Path

CHAR_LOCALES = {"ja-JP", "zh-CN", "zh-TW"}


def tokens_and_labels(
    annot: str, locale: str, *, official: bool = True
) -> tuple[list[str], list[str]]:
    """Tokens and labels of an annotation; ``official=False`` ends a slot at every ']'."""
    if locale not in CHAR_LOCALES:
        return word_tokens_and_labels(annot)
    tokens: list[str] = []
    labels: list[str] = []
    label = "Other"
    after_name = False
    for chunk in annot.split():
        if chunk.startswith("["):
            label, after_name = chunk[1:], True
            continue
        if chunk == ":" and after_name:
            after_name = False
            continue
        if chunk.isascii():
            tokens.append(chunk.rstrip("]"))
            labels.append(label)
            if chunk.endswith("]") and not official:
                label = "Other"
            continue
        for char in chunk:
            if char == "]":
                label = "Other"
            else:
                tokens.append(char)
                labels.append(label)
    return tokens, labels


def word_tokens_and_labels(annot: str) -> tuple[list[str], list[str]]:
    tokens: list[str] = []
    labels: list[str] = []
    label = "Other"
    chunks = annot.split()
    index = 0
    while index < len(chunks):
        chunk = chunks[index]
        if chunk.startswith("["):
            label = chunk[1:]
            index += 2  # the label chunk and the ':' after it
            continue
        tokens.append(chunk.rstrip("]"))
        labels.append(label)
        if chunk.endswith("]"):
            label = "Other"
        index += 1
    return tokens, labels


def bio(labels: list[str]) -> list[str]:
    out, previous = [], None
    for label in labels:
        if label == "Other":
            out.append("O")
        else:
            out.append(("I-" if label == previous else "B-") + label)
        previous = label
    return out


def chunks(tags: list[str]) -> set[tuple[str, int, int]]:
    found, start, kind = set(), None, None
    for position, tag in enumerate([*tags, "O"]):
        if tag == "O" or tag.startswith("B-") or (tag.startswith("I-") and tag[2:] != kind):
            if kind is not None:
                found.add((kind, start, position))
            kind, start = (tag[2:], position) if tag != "O" else (None, None)
    return found


def read_gold(data: Path, split: str) -> dict[tuple[str, str], dict]:
    rows: dict[tuple[str, str], dict] = {}

    def take(stream: io.TextIOBase) -> None:
        for line in stream:
            if line.strip():
                row = json.loads(line)
                if row["partition"] == split:
                    rows[(row["locale"], row["id"])] = row

    if data.is_dir():
        for path in sorted(data.rglob("*.jsonl")):
            with path.open(encoding="utf-8") as stream:
                take(stream)
    else:
        with tarfile.open(data) as archive:
            for member in archive:
                if member.isfile() and member.name.endswith(".jsonl"):
                    handle = archive.extractfile(member)
                    assert handle is not None
                    take(io.TextIOWrapper(handle, encoding="utf-8"))
    return rows


def score(
    data: Path, predictions: Path, split: str, *, official: bool = True
) -> dict[str, dict[str, float]]:
    gold = read_gold(data, split)
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with predictions.open(encoding="utf-8") as stream:
        for line in stream:
            pred = json.loads(line)
            row = gold[(pred["locale"], pred["id"])]
            locale = row["locale"]
            _, gold_labels = tokens_and_labels(row["annot_utt"], locale, official=official)
            _, pred_labels = tokens_and_labels(pred["pred_annot_utt"], locale, official=False)
            pred_labels = (pred_labels + ["Other"] * len(gold_labels))[: len(gold_labels)]
            gold_tags, pred_tags = bio(gold_labels), bio(pred_labels)
            gold_chunks, pred_chunks = chunks(gold_tags), chunks(pred_tags)
            c = counts[locale]
            c["n"] += 1
            c["intent"] += pred["pred_intent"] == row["intent"]
            c["exact"] += pred["pred_intent"] == row["intent"] and gold_tags == pred_tags
            c["tp"] += len(gold_chunks & pred_chunks)
            c["gold"] += len(gold_chunks)
            c["pred"] += len(pred_chunks)
    results = {}
    for locale, c in sorted(counts.items()):
        precision = c["tp"] / c["pred"] if c["pred"] else 0.0
        recall = c["tp"] / c["gold"] if c["gold"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        results[locale] = {
            "exact_match": c["exact"] / c["n"],
            "intent_acc": c["intent"] / c["n"],
            "slot_f1": f1,
            "n": int(c["n"]),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True)
    parser.add_argument("--metrics", type=Path)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--chunking", choices=("official", "corrected"), default="official")
    args = parser.parse_args()
    official = args.chunking == "official"
    results = score(args.data, args.predictions, args.split, official=official)
    metric_names = ("exact_match", "intent_acc", "slot_f1")
    mean = {m: sum(r[m] for r in results.values()) / len(results) for m in metric_names}
    print(f"{'locale':8} {'n':>5} {'EM':>7} {'intent':>7} {'slotF1':>7}")
    for locale, r in results.items():
        print(f"{locale:8} {r['n']:5d} " + " ".join(f"{100 * r[m]:7.2f}" for m in metric_names))
    print(f"{'average':8} {'':5} " + " ".join(f"{100 * mean[m]:7.2f}" for m in metric_names))
    if args.metrics is None:
        return 0
    reported = json.loads(args.metrics.read_text(encoding="utf-8"))
    if not official:
        reported = reported["corrected"]
    mismatches = []
    for locale, r in results.items():
        for m in metric_names:
            theirs = reported["locales"][locale][m]
            if round(theirs, 4) != round(r[m], 4):
                mismatches.append(f"{locale} {m}: metrics.json {theirs:.6f} vs here {r[m]:.6f}")
    for m in metric_names:
        if round(reported["average"][m], 4) != round(mean[m], 4):
            mismatches.append(f"average {m}: {reported['average'][m]:.6f} vs {mean[m]:.6f}")
    if set(reported["locales"]) != set(results):
        mismatches.append("the locales differ")
    for line in mismatches:
        print("MISMATCH", line)
    checked = len(results) * len(metric_names) + len(metric_names)
    print("agree to 4 decimals" if not mismatches else f"{len(mismatches)} of {checked} differ")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
