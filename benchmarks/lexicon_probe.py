"""Is word-for-word lexicon text worth training on, where fine-tuning cannot spoil anything?

A logistic regression on the untrained encoder's mean-pooled sentence embeddings, fitted on
SIB-200's English train sentences alone, then with lexicon translations of them (GATITOS,
unknown words left out, as ``polynlu train --adapt-drop-unknown`` makes them) mixed in at
two weights, and with one classifier per language on English plus that language's
translations. Scored on SIB-200 dev of the varieties with a lexicon, split by whether the
encoder saw the language in pre-training. Nothing is fine-tuned, so a loss here is the
pseudo-text's, not the training recipe's (docs/languages.md).

    python benchmarks/lexicon_probe.py --per-locale 100     # ~7 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from common import SHARED_DATA, unpack, write_result
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sklearn.linear_model import LogisticRegression

from polynlu.augment.lexicons import target_locale, translate
from polynlu.data.formats import read_data
from polynlu.data.lexicons import read_lexicons
from polynlu.data.locales import locale_info
from polynlu.models.backbones.registry import DEFAULT_BACKBONE, Backbone, load_backbone

console = Console()


def embed(texts: list[str], backbone: Backbone, batch_size: int = 64) -> np.ndarray:
    """Unit-length mean-pooled embeddings of the untrained encoder, e5's ``query:`` prefix,
    128 sub-words at most; shortest first, so that batches carry little padding."""
    tokenizer, encoder = backbone.tokenizer, backbone.encoder
    tokenizer.enable_truncation(128)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("<pad>"))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.empty((len(texts), backbone.hidden_size), dtype=np.float32)
    for start in track(range(0, len(order), batch_size), description="embedding", console=console):
        rows = order[start : start + batch_size]
        encodings = tokenizer.encode_batch([f"query: {texts[i]}" for i in rows])
        ids = torch.tensor([e.ids for e in encodings])
        mask = torch.tensor([e.attention_mask for e in encodings])
        with torch.inference_mode():
            hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        vectors[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return vectors


def fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=3000).fit(x, y, sample_weight=weights)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sib", type=Path, default=SHARED_DATA / "sib-200-traindev.tar.gz")
    parser.add_argument("--lexicons", type=Path, default=SHARED_DATA / "gatitos-en-xx.tar.gz")
    parser.add_argument("--work", type=Path, default=Path("language_reach"))
    parser.add_argument("--per-locale", type=int, default=100, help="Translations a language.")
    parser.add_argument("--name", default="lexicon_probe")
    args = parser.parse_args()
    torch.manual_seed(0)
    args.work.mkdir(parents=True, exist_ok=True)
    data = read_data(unpack(args.sib, args.work, "sib-200"), format="sib", skip_invalid=True)
    lexicons = read_lexicons(unpack(args.lexicons, args.work, "gatitos"), skip_invalid=True)
    varieties = sorted({e.locale for e in data.examples})
    by_variety = {target_locale(code, varieties): lexicon for code, lexicon in lexicons.items()}
    targets = sorted(v for v in by_variety if v in varieties and v != "eng_Latn")
    english = [e for e in data.examples if e.partition == "train" and e.locale == "eng_Latn"]
    dev = [e for e in data.examples if e.partition == "dev" and e.locale in targets]
    rng = random.Random(0)
    pseudo = [
        translate(example, by_variety[variety], variety, rng, keep_unknown=False).example
        for variety in targets
        for example in rng.sample(english, args.per_locale)
    ]
    console.print(
        f"{len(targets)} varieties with a lexicon; {len(english)} English train sentences, "
        f"{len(pseudo):,} translations, {len(dev):,} dev sentences"
    )
    intents = sorted({e.intent for e in english})
    backbone = load_backbone(DEFAULT_BACKBONE, show_progress=False)
    x_en, x_pseudo, x_dev = (
        embed([e.utt for e in examples], backbone) for examples in (english, pseudo, dev)
    )
    y_en, y_pseudo, y_dev = (
        np.array([intents.index(e.intent) for e in examples]) for examples in (english, pseudo, dev)
    )
    dev_locales = np.array([e.locale for e in dev])
    pseudo_locales = np.array([e.locale for e in pseudo])

    def accuracy(predicted: np.ndarray) -> dict[str, float]:
        return {
            v: 100 * float((predicted[dev_locales == v] == y_dev[dev_locales == v]).mean())
            for v in targets
        }

    runs: dict[str, dict[str, float]] = {"English only": accuracy(fit(x_en, y_en).predict(x_dev))}
    for weight in (1.0, 0.3):
        weights = np.concatenate([np.ones(len(y_en)), np.full(len(y_pseudo), weight)])
        both = fit(np.concatenate([x_en, x_pseudo]), np.concatenate([y_en, y_pseudo]), weights)
        runs[f"+ all translations, weight {weight}"] = accuracy(both.predict(x_dev))
    per_language = {}
    for variety in targets:  # each classifier scored on its own language's dev sentences
        own, own_dev = pseudo_locales == variety, dev_locales == variety
        model = fit(np.concatenate([x_en, x_pseudo[own]]), np.concatenate([y_en, y_pseudo[own]]))
        per_language[variety] = 100 * float(
            (model.predict(x_dev[own_dev]) == y_dev[own_dev]).mean()
        )
    runs["one classifier a language"] = per_language

    seen = [v for v in targets if (info := locale_info(v)) and info.pretraining == "seen"]
    groups = {"unseen, with a lexicon": [v for v in targets if v not in seen], "seen": seen}
    summary = {
        run: {
            g: round(statistics.fmean(acc[v] for v in members), 2) for g, members in groups.items()
        }
        for run, acc in runs.items()
    }
    table = Table(title="SIB-200 dev accuracy (%), frozen encoder + logistic regression")
    table.add_column("training data")
    for group, members in groups.items():
        table.add_column(f"{group} ({len(members)})", justify="right")
    base = summary["English only"]
    for run, scores in summary.items():
        table.add_row(
            run,
            *(
                f"{scores[g]:.1f}"
                + ("" if run == "English only" else f" ({scores[g] - base[g]:+.1f})")
                for g in groups
            ),
        )
    console.print(table)
    path = write_result(
        args.name,
        {
            "command": "python benchmarks/lexicon_probe.py " + " ".join(sys.argv[1:]),
            "model": f"{DEFAULT_BACKBONE}, untrained, mean-pooled; sklearn LogisticRegression C=10",
            "data": "SIB-200 eng_Latn train (701); dev of the varieties with a GATITOS lexicon",
            "per_locale": args.per_locale,
            "averages": summary,
            "accuracy": runs,
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
