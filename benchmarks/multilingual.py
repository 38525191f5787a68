"""Multilingual training: the joint model trained on every locale, scored on all 52.

    python benchmarks/multilingual.py --max-per-locale 500 --epochs 2     # 2 CPU cores: ~30 min
    python benchmarks/multilingual.py --max-per-locale 11514 --epochs 3   # full data (use a GPU)

A full 52-locale epoch is ~600k utterances, hours on 2 CPU cores, hence the per-locale cap.
It is the zero-shot benchmark's script with other defaults; it writes
benchmarks/results/multilingual-<backbone>.json.
"""

from pathlib import Path

from zero_shot import main

if __name__ == "__main__":
    main(
        "multilingual",
        train_locales="all",
        max_per_locale=500,
        dev_max_per_locale=100,
        epochs=2,
        output=Path("runs/multilingual"),
    )
