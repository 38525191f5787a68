"""Your assistant, your labels: a Rasa file, a Snips dataset and a CoNLL file each train,
evaluate and serve a model with their own intents and slots (tiny configurations)."""

import json
from pathlib import Path

import httpx
import pytest
from support import LiveServer, polynlu

from polynlu import NLU
from polynlu.models.base import read_model_config
from polynlu.serving import ServeSettings

pytestmark = pytest.mark.slow  # real processes and a server

CITIES = ["Paris", "Berlin", "Rome", "Oslo", "Lima", "Kyoto"]
RASA = (
    "version: '3.1'\nnlu:\n- intent: book_table\n  examples: |\n"
    + "".join(
        f"    - book a table for [{n}](party_size) in [{c}](city), please\n"
        for n, c in zip(["two", "four", "six", "three", "five", "eight"], CITIES, strict=True)
    )
    + "- intent: check_balance\n  examples: |\n"
    + "".join(
        f"    - what is the balance of my [{a}](account) account?\n"
        for a in ["savings", "checking", "joint", "business", "travel", "credit"]
    )
)
SNIPS = json.dumps(
    {
        "language": "en",
        "intents": {
            "GetWeather": {
                "utterances": [
                    {
                        "data": [
                            {"text": "weather in "},
                            {"text": c, "entity": "city"},
                            {"text": "?"},
                        ]
                    }
                    for c in CITIES
                ]
            },
            "PlayMusic": {
                "utterances": [
                    {"data": [{"text": "play "}, {"text": g, "entity": "genre"}, {"text": " now"}]}
                    for g in ["jazz", "rock", "blues", "soul", "funk", "punk"]
                ]
            },
        },
        "entities": {"city": {"data": [{"value": "Paris", "synonyms": ["paname"]}]}},
    }
)
CONLL = "\n".join(
    f"# intent = lights_on\nturn\tO\non\tO\nthe\tO\n{room}\tB-room\nlights\tO\n\n"
    f"# intent = lights_off\nswitch\tO\noff\tO\nthe\tO\n{room}\tB-room\nlights\tO\n"
    for room in ["kitchen", "bedroom", "hall", "garage", "office", "attic"]
)


@pytest.mark.parametrize(
    ("name", "text", "model", "utterance", "intents"),
    [
        ("nlu.yml", RASA, "joint", "book a table for two in Paris, please",
         ["book_table", "check_balance"]),
        ("dataset.json", SNIPS, "baseline", "play jazz now", ["GetWeather", "PlayMusic"]),
        ("train.conll", CONLL, "baseline", "turn on the kitchen lights",
         ["lights_off", "lights_on"]),
    ],
)  # fmt: skip
def test_own_data_trains_evaluates_and_serves_with_its_own_labels(
    tmp_path: Path, name: str, text: str, model: str, utterance: str, intents: list[str]
) -> None:
    data = tmp_path / name
    data.write_text(text, "utf-8")
    folder = tmp_path / "model"
    options = ["--backbone", "tiny-random", "--epochs", "2", "--max-length", "32"]
    trained = polynlu(
        "train", "--data", str(data), "--model", model, "--output", str(folder), "--no-progress",
        *(options if model == "joint" else ["--n-features", "4096"]),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    # A dozen examples: the joint model takes the few-shot recipe and trains on all of them.
    expected = "few-shot recipe" if model == "joint" else "held out to choose the best epoch"
    assert expected in trained.stdout
    config = read_model_config(folder)
    assert config.intents == intents and config.segmentation == "punctuation"

    scored = polynlu(
        "evaluate", str(folder), "--data", str(data), "--output", str(tmp_path / "eval"),
        "--no-progress",
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["locales"]["en-US"]["n"] == 12
    if model == "baseline":  # the joint model's 2-layer random encoder learns little
        assert metrics["average"]["intent_acc"] > 0.5

    with LiveServer(ServeSettings(model=str(folder))) as live:
        info = httpx.get(f"{live.url}/v1/model").json()
        assert info["intents"] == intents
        answer = httpx.post(f"{live.url}/v1/parse", json={"text": utterance, "locale": "en-US"})
        assert answer.status_code == 200 and answer.json()["intent"] in intents
    assert NLU.load(folder).parse(utterance, "en-US").intent in intents


def test_synonyms_in_the_data_normalise_the_slots_a_model_finds(tmp_path: Path) -> None:
    rooms = ["kitchen", "bedroom", "hall", "garage", "office", "attic", "den", "loft"]
    text = (
        "polynlu: 1\nintents:\n  lights_on:\n    examples: |\n"
        + "".join(f"      turn on the [room : {room}] lights\n" for room in rooms)
        + "  lights_off:\n    examples: |\n"
        + "".join(f"      switch off the [room : {room}] lights\n" for room in rooms)
        + "slots:\n  room:\n    synonyms:\n      living room: [den, lounge]\n"
    )
    data = tmp_path / "home.yml"
    data.write_text(text, "utf-8")
    folder = tmp_path / "model"
    trained = polynlu(
        "train", "--data", str(data), "--model", "baseline", "--n-features", "4096",
        "--output", str(folder), "--no-progress",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert read_model_config(folder).slot_values["room"]["den"] == "living room"
    result = NLU.load(folder).parse("turn on the den lights", "en-US")
    assert [(s.slot, s.value, s.normalized) for s in result.slots] == [
        ("room", "den", "living room")
    ]
    with LiveServer(ServeSettings(model=str(folder))) as live:
        answer = httpx.post(
            f"{live.url}/v1/parse", json={"text": "turn on the kitchen lights", "locale": "en-US"}
        ).json()
        assert answer["slots"][0]["value"] == "kitchen" and answer["slots"][0]["normalized"] is None
        den = httpx.post(
            f"{live.url}/v1/parse", json={"text": "switch off the den lights", "locale": "en-US"}
        ).json()
        assert den["slots"][0]["normalized"] == "living room"
