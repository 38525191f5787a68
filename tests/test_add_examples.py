"""Growing a trained model without retraining: intent prototypes, ``NLU.add_examples``,
``POST /v1/intents/{name}/examples`` and ``polynlu train --with-added``."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
from support import TINY_JOINT, LiveServer, polynlu, tiny_training_data

from polynlu import NLU
from polynlu.errors import PolynluError
from polynlu.models.base import ADDED_EXAMPLES, load_model, read_model_config
from polynlu.models.prototypes import IntentPrototypes
from polynlu.serving.settings import ServeSettings
from polynlu.training.trainer import JointTrainer

SHARP = replace(TINY_JOINT, prototype_scale=1000.0)
"""The tiny random encoder puts every sentence close to every other: a steep prototype
softmax lets an added example's own text find it, which is what these tests check."""


def test_the_blend_is_a_distribution_and_added_intents_are_scored_by_prototypes() -> None:
    generator = np.random.default_rng(0)
    embeddings = generator.normal(size=(6, 8)).astype(np.float32)
    prototypes = IntentPrototypes.from_embeddings(
        ["a", "b"], embeddings[:4], ["a", "a", "b", "b"], scale=5.0, weight=0.3
    )
    head = np.array([[0.9, 0.1], [0.2, 0.8]])
    queries = embeddings[4:]
    plain = prototypes.blend(head, queries)
    assert np.allclose(plain, 0.3 * prototypes.probabilities(queries) + 0.7 * head)

    grown = prototypes.add("c", embeddings[4:5])
    assert prototypes.intents == ("a", "b") and grown.intents == ("a", "b", "c")
    assert grown.added_intents == ["c"]
    blended = grown.blend(head, queries)
    assert blended.shape == (2, 3)
    assert np.allclose(blended.sum(-1), 1.0)
    assert np.isclose(blended[0, 2], grown.probabilities(queries)[0, 2])


@pytest.fixture(scope="module")
def sharp_joint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("grow") / "sharp"
    JointTrainer(SHARP, folder, show_progress=False).fit(tiny_training_data(["en-US"], ["en-US"]))
    return folder


@pytest.fixture
def model_copy(sharp_joint: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(sharp_joint, tmp_path / "model"))


def test_training_keeps_a_prototype_per_intent(sharp_joint: Path) -> None:
    model = load_model(sharp_joint)
    assert model.prototypes is not None
    assert list(model.prototypes.intents) == model.head_intents == model.intents
    assert (model.prototypes.counts > 0).all()
    assert read_model_config(sharp_joint).prototypes is not None


def test_a_new_intent_answers_at_once_and_survives_save_and_load(model_copy: Path) -> None:
    nlu = NLU.load(model_copy, detect_language=False)
    before = nlu.model.intents
    added = nlu.add_examples(
        "book_table",
        ["book a table for [date : tonight]", "reserve a table at the corner place"],
        locale="en-US",
    )
    assert [e.slots[0].label for e in added[:1]] == ["date"]
    assert nlu.model.intents == [*before, "book_table"]
    result = nlu.parse("reserve a table at the corner place", "en-US")
    assert result.intent == "book_table"

    nlu.save_additions(model_copy)
    again = NLU.load(model_copy, detect_language=False)
    assert again.model.intents == nlu.model.intents
    assert again.parse("reserve a table at the corner place", "en-US").intent == "book_table"
    assert [e.utt for e in again.model.added_examples] == [
        "book a table for tonight",
        "reserve a table at the corner place",
    ]


def test_examples_of_a_known_intent_move_its_prototype(model_copy: Path) -> None:
    nlu = NLU.load(model_copy, detect_language=False)
    intent = nlu.model.intents[0]
    assert nlu.model.prototypes is not None
    count = nlu.model.prototypes.counts[0]
    nlu.add_examples(intent, ["play something cheerful please"], locale="en-US")
    assert nlu.model.intents == nlu.model.head_intents
    assert nlu.model.prototypes.counts[0] == count + 1


@pytest.mark.parametrize(
    ("intent", "examples", "message"),
    [
        ("book table", ["book it"], "white space"),
        ("book_table", ["book a [flavour : big] table"], "flavour are not in this model"),
        ("book_table", ["book a [table"], "unbalanced brackets"),
        ("book_table", [], "no examples"),
    ],
)
def test_bad_additions_are_refused_with_the_reason(
    model_copy: Path, intent: str, examples: list[str], message: str
) -> None:
    nlu = NLU.load(model_copy, detect_language=False)
    with pytest.raises(PolynluError, match=message):
        nlu.add_examples(intent, examples, locale="en-US")
    assert nlu.model.added_examples == []


def test_a_baseline_says_it_cannot_take_examples(tmp_path: Path) -> None:
    from support import fit_baseline, tiny_split

    from polynlu.training.config import BaselineConfig

    nlu = NLU(fit_baseline(tiny_split(["en-US"], "train"), BaselineConfig(epochs=2)))
    with pytest.raises(PolynluError, match="cannot take examples without retraining"):
        nlu.add_examples("book_table", ["book a table"], locale="en-US")


def test_the_service_learns_an_intent_and_saves_it(model_copy: Path) -> None:
    settings = ServeSettings(model=str(model_copy), accept_examples=True, detect_language=False)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        version = client.get("/v1/model").json()["version"]
        response = client.post(
            "/v1/intents/book_table/examples",
            json={"examples": ["reserve a table at the corner place"], "locale": "en-US"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["new_intent"] is True and body["added"] == 1
        assert body["model"]["version"] != version
        described = client.get("/v1/model").json()
        assert "book_table" in described["intents"]
        assert described["version"] == body["model"]["version"]
        parsed = client.post(
            "/v1/parse", json={"text": "reserve a table at the corner place", "locale": "en-US"}
        ).json()
        assert parsed["intent"] == "book_table"
        assert parsed["model"]["version"] == body["model"]["version"]

        bad_slot = client.post(
            "/v1/intents/book_table/examples", json={"examples": ["a [colour : red] table"]}
        )
        assert bad_slot.status_code == 422
        assert "colour" in bad_slot.json()["detail"]
        bad_name = client.post("/v1/intents/a:b/examples", json={"examples": ["x"]})
        assert bad_name.status_code == 422
        assert bad_name.json()["errors"][0]["field"] == "name"
    assert (model_copy / ADDED_EXAMPLES).is_file()
    assert "book_table" in NLU.load(model_copy).model.intents


def test_the_service_refuses_examples_unless_told_to(model_copy: Path) -> None:
    with (
        LiveServer(ServeSettings(model=str(model_copy))) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        response = client.post("/v1/intents/book_table/examples", json={"examples": ["x y"]})
    assert response.status_code == 403
    assert "--accept-examples" in response.json()["detail"]


def test_added_examples_join_the_next_training(model_copy: Path, tmp_path: Path) -> None:
    nlu = NLU.load(model_copy, detect_language=False)
    nlu.add_examples("book_table", ["reserve a table", "book a table please"], locale="en-US")
    nlu.save_additions(model_copy)
    data = Path(__file__).parent / "data" / "massive-tiny"
    done = polynlu(
        "train", "--data", str(data), "--output", str(tmp_path / "again"),
        "--backbone", "tiny-random", "--epochs", "1", "--max-length", "32",
        "--with-added", str(model_copy), "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Joined 2 example(s)" in done.stdout
    retrained = load_model(tmp_path / "again")
    assert "book_table" in retrained.head_intents
    assert retrained.added_examples == []


def test_the_service_answers_409_for_a_model_that_cannot_learn(tmp_path: Path) -> None:
    from support import fit_baseline, tiny_split

    from polynlu.training.config import BaselineConfig

    fit_baseline(tiny_split(["en-US"], "train"), BaselineConfig(epochs=2)).save(tmp_path / "b")
    settings = ServeSettings(model=str(tmp_path / "b"), accept_examples=True)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/v1/intents/book_table/examples", json={"examples": ["a b"]})
    assert response.status_code == 409
    assert "without retraining" in response.json()["detail"]
