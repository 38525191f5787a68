from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from support import TINY, TINY_JOINT, tiny_training_data

from polynlu.models.joint import JointModel
from polynlu.serving.server import serve_in_background
from polynlu.training.trainer import JointTrainer


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own polynlu cache, so none reads or writes the user's."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("POLYNLU_CACHE", str(cache))
    return cache


@pytest.fixture
def tiny_data() -> Path:
    return TINY


@pytest.fixture
def serve_command() -> Callable[..., AbstractContextManager[str]]:
    """`polynlu serve MODEL [OPTIONS]` in its own process, as a context manager yielding its URL."""
    return partial(serve_in_background, timeout=60.0)


@pytest.fixture(scope="session")
def tiny_joint(tmp_path_factory: pytest.TempPathFactory) -> tuple[JointModel, Path]:
    """A joint model trained one epoch on en-US, saved in a folder named ``tiny-joint``:
    the model that serving, distillation and the CLI tests share."""
    folder = tmp_path_factory.mktemp("tiny") / "tiny-joint"
    trainer = JointTrainer(TINY_JOINT, folder, show_progress=False)
    return trainer.fit(tiny_training_data(["en-US"], ["en-US"])), folder


TWO_EPOCHS = replace(TINY_JOINT, epochs=2, head_learning_rate=5e-3)
"""Two epochs, with a faster head, for tests that look at the training history."""


@pytest.fixture(scope="session")
def tiny_joint_two_locales(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[JointModel, Path]:
    """A joint model trained two epochs on en-US and ja-JP: the model that the joint-model
    and export tests share."""
    folder = tmp_path_factory.mktemp("tiny") / "joint-en-ja"
    data = tiny_training_data(["en-US", "ja-JP"], ["en-US", "ja-JP"])
    return JointTrainer(TWO_EPOCHS, folder, show_progress=False).fit(data), folder
