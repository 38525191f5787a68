"""What an intent added without retraining costs the trained ones.

    python benchmarks/add_examples.py MODEL [--locales en-US,de-DE]

Scores MODEL on MASSIVE dev of ``--locales``, adds a new intent (``check_balance``, five
English examples: MASSIVE has no banking intent) with ``NLU.add_examples``, and scores again:
exact match, intent accuracy and slot F1 before and after, and the dev utterances the new
intent took (none of them is about bank accounts). The model folder is not changed. Writes
benchmarks/results/add_examples.json (or ``--name``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import write_result
from rich.console import Console
from rich.table import Table

from polynlu import NLU
from polynlu.data import MassiveData, parse_locale_list
from polynlu.evaluation.evaluate import evaluate

SHARED = (
    Path(__file__).resolve().parents[2] / "shared/data/amazon-massive-dataset-1.1-traindev.tar.gz"
)
NEW_INTENT = "check_balance"
EXAMPLES = [
    "what is my balance",
    "how much money is in my account",
    "check my account balance",
    "tell me my balance please",
    "how much do i have in my [relation : joint] account",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--locales", default="en-US,de-DE")
    parser.add_argument("--name", default="add_examples")
    args = parser.parse_args()
    data = MassiveData(args.data)
    dev = data.read(parse_locale_list(args.locales, data.locales), "dev").examples
    nlu = NLU.load(args.model, detect_language=False)
    before = evaluate(nlu, dev, show_progress=False)
    nlu.add_examples(NEW_INTENT, EXAMPLES, locale="en-US")
    after = evaluate(nlu, dev, show_progress=False)
    results = nlu.parse_batch([e.utt for e in dev], [e.locale for e in dev])
    taken = [e.utt for e, r in zip(dev, results, strict=True) if r.intent == NEW_INTENT]
    table = Table(title=f"Adding '{NEW_INTENT}' (5 en-US examples): dev, before → after (%)")
    for column in ("locale", "exact match", "intent accuracy", "slot F1"):
        table.add_column(column)
    for locale in before.locales:
        old, new = before.locales[locale], after.locales[locale]
        table.add_row(
            locale,
            *(
                f"{100 * getattr(old, m):.2f} → {100 * getattr(new, m):.2f}"
                for m in ("exact_match", "intent_acc", "slot_f1")
            ),
        )
    console = Console()
    console.print(table)
    console.print(f"{len(taken)} of {len(dev):,} dev utterances now answer {NEW_INTENT}: {taken}")
    path = write_result(
        args.name,
        {
            "benchmark": "add_examples",
            "model": str(args.model),
            "intent": NEW_INTENT,
            "examples": EXAMPLES,
            "before": {loc: s.as_dict() for loc, s in before.locales.items()},
            "after": {loc: s.as_dict() for loc, s in after.locales.items()},
            "taken": taken,
            "dev_utterances": len(dev),
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
