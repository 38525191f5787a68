"""What many tests share: the tiny data, the tiny training settings, the CLI as a process and
a live server in a thread. Fixtures that use these live in conftest.py."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import uvicorn

from polynlu.data import MassiveData
from polynlu.models.backbones.registry import TINY_BACKBONE
from polynlu.models.baseline import BaselineModel
from polynlu.serving import ServeSettings, create_app
from polynlu.serving.server import free_port
from polynlu.training import TrainingData
from polynlu.training.baseline import BaselineTrainer
from polynlu.training.config import BaselineConfig, TrainConfig

TINY = Path(__file__).parent / "data" / "massive-tiny"
"""Four locales of MASSIVE, a few dozen utterances each (see data/README.md)."""

TINY_JOINT = TrainConfig(
    backbone=TINY_BACKBONE,
    epochs=1,
    batch_size=16,
    max_length=32,
    freeze_layers=0,
    checkpoint_every_s=0.0,
)
"""One epoch of the joint model on the 2-layer random encoder: seconds. A checkpoint every
epoch, as the resume tests need."""


def tiny_split(locales: list[str], split: str) -> list:  # type: ignore[type-arg]
    return MassiveData(TINY).read(locales, split, show_progress=False).examples


def tiny_training_data(train_locales: list[str], dev_locales: list[str]) -> TrainingData:
    return TrainingData(tiny_split(train_locales, "train"), tiny_split(dev_locales, "dev"))


def polynlu_process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``polynlu ARGS`` as a user runs it: a real process. Seconds slower than
    :func:`polynlu` (a new Python imports PyTorch and transformers), so kept for what only
    a process shows: its exit, its output stream, a command from start to end."""
    return subprocess.run(
        [sys.executable, "-m", "polynlu", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def polynlu(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``polynlu ARGS`` through the command's own entry point (``polynlu.cli.main``) in this
    process: the same code, options, messages and exit status as :func:`polynlu_process`,
    its streams captured, and whatever the command changes in the process (log handlers,
    PyTorch's threads) put back."""
    import logging
    import traceback

    from polynlu import cli

    logger = logging.getLogger("polynlu")
    saved_logger = (list(logger.handlers), logger.level, logger.propagate)
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else None
    saved = (sys.argv, sys.stdin, sys.stdout, sys.stderr, os.environ.get("COLUMNS"))
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["polynlu", *args]
    sys.stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode("utf-8")), encoding="utf-8")
    sys.stdout, sys.stderr = out, err
    os.environ["COLUMNS"] = "200"
    for console in (cli.console, cli.errors):
        console.width = 200  # as the process's consoles read COLUMNS when they start
    code = 0
    try:
        cli.main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if isinstance(exit_.code, str):
            err.write(exit_.code + "\n")
    except Exception:  # what the process would die of: a traceback and status 1
        err.write(traceback.format_exc())
        code = 1
    finally:
        sys.argv, sys.stdin, sys.stdout, sys.stderr, columns = saved
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns
        logger.handlers[:] = saved_logger[0]
        logger.setLevel(saved_logger[1])
        logger.propagate = saved_logger[2]
        if torch and threads:
            torch.set_num_threads(threads)
    return subprocess.CompletedProcess(["polynlu", *args], code, out.getvalue(), err.getvalue())


class LiveServer:
    """uvicorn serving the app in a thread, on a free port of 127.0.0.1."""

    def __init__(self, settings: ServeSettings) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def fit_baseline(examples: list, config: BaselineConfig) -> BaselineModel:  # type: ignore[type-arg]
    """A baseline fitted in memory (not saved)."""
    return BaselineTrainer(config, Path("unused"), show_progress=False).fit_examples(examples)


def spoken_wav(text: str, locale: str, pad_s: float = 0.0) -> bytes:
    """``text`` spoken by espeak-ng, as WAV, with ``pad_s`` seconds of silence after it (a
    clip over a length limit; Chromium's fake microphone, which loops its file)."""
    from polynlu.assistant.tts import speak

    audio, _ = speak(text, locale)
    if not pad_s:
        return audio
    with wave.open(io.BytesIO(audio)) as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setparams(params)
        target.writeframes(frames + b"\0" * int(params.framerate * pad_s) * params.sampwidth)
    return out.getvalue()
