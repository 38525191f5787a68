"""The voice assistant: slot resolution, skills and their state, replies in several
languages, speech out (espeak-ng), speech in (Whisper base, in the slow tests), the HTTP
route and its audio limits."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from support import LiveServer, spoken_wav

from polynlu.assistant import Assistant, AssistantSettings
from polynlu.assistant.audio import AudioError, AudioLimits, decode
from polynlu.assistant.replies import reply_languages
from polynlu.assistant.resolve import SlotResolver
from polynlu.assistant.skills import SKILLS, Skill, SkillReply, SkillRequest
from polynlu.assistant.state import AssistantState
from polynlu.assistant.tts import SpeechError, speak, voice_for, why_silent
from polynlu.models.joint import JointModel
from polynlu.nlu import NLU
from polynlu.serving import ServeSettings
from polynlu.types import Interpretation, Slot

NOW = datetime(2026, 11, 25, 10, 0)  # a Wednesday


def meaning(text: str, intent: str, locale: str = "en-US", **slots: str) -> Interpretation:
    """An interpretation with ``slot=value`` spans found in ``text``."""
    found = []
    for slot, value in slots.items():
        start = text.index(value)
        found.append(Slot(slot, value, start, start + len(value)))
    return Interpretation(text, intent, 0.9, tuple(found), locale=locale)


@pytest.fixture
def assistant(tiny_joint: tuple[JointModel, Path], tmp_path: Path) -> Iterator[Assistant]:
    _, folder = tiny_joint
    helper = Assistant(
        NLU.load(folder),
        AssistantSettings(state=str(tmp_path / "state.duckdb"), speak=False),
        now=lambda: NOW,
    )
    yield helper
    helper.close()


def test_resolution_reads_dates_times_spans_and_numbers_in_several_languages() -> None:
    resolver = SlotResolver(lambda: NOW)
    alarm = resolver.resolve(
        meaning(
            "wake me up at five am this friday", "alarm_set", time="five am", date="this friday"
        )
    )
    assert [s.resolved for s in alarm.slots] == ["2026-11-26T05:00", "2026-11-27"]
    assert resolver.when(alarm) == datetime(2026, 11, 27, 5, 0)
    german = meaning(
        "weck mich morgen um sieben uhr", "alarm_set", "de-DE", date="morgen", time="sieben uhr"
    )
    assert resolver.when(german) == datetime(2026, 11, 26, 7, 0)
    assert resolver.span_of(german) is None  # a clock time, not a span
    timer = meaning("set a timer for ten minutes", "alarm_set", time="ten minutes")
    assert resolver.span_of(timer) is not None
    assert resolver.span_of(timer).total_seconds() == 600  # type: ignore[union-attr]
    bare = resolver.resolve(meaning("set an alarm for twelve", "alarm_set", time="twelve"))
    assert bare.slots[0].resolved == "2026-11-25T12:00"  # an hour (noon next), not the 12th
    amount = resolver.resolve(
        meaning(
            "set lights to twenty percent", "iot_hue_lightchange", change_amount="twenty percent"
        )
    )
    assert amount.slots[0].resolved == "20"
    unresolved = resolver.resolve(meaning("play jazz", "play_music", music_genre="jazz"))
    assert unresolved.slots[0].resolved is None


def test_skills_keep_their_state_and_answer_in_the_users_language(
    assistant: Assistant,
) -> None:
    def ask(interpretation: Interpretation) -> tuple[str, str, bool]:
        _, skill, answer, reply = assistant.respond(interpretation)
        return skill, reply.text, answer.done

    assert ask(
        meaning(
            "wake me up at five am this friday", "alarm_set", time="five am", date="this friday"
        )
    ) == ("alarms", "Alarm set for Fri, Nov 27, 5:00\u202fAM.", True)
    assert ask(meaning("set a timer for ten minutes", "alarm_set", time="ten minutes"))[1] == (
        "Timer set for 10 minutes."
    )
    assert ask(meaning("set an alarm", "alarm_set"))[1:] == ("For what time?", False)
    kinds = [a["kind"] for a in assistant.snapshot()["alarms"]]
    assert kinds == ["timer", "alarm"]

    assert (
        ask(meaning("add milk to my shopping list", "lists_createoradd", list_name="shopping"))[1]
        == "Added milk to the shopping list."
    )
    assert (
        ask(
            meaning(
                "füge eier zur einkaufsliste hinzu",
                "lists_createoradd",
                "de-DE",
                list_name="einkaufsliste",
            )
        )[1]
        == "eier zur Liste einkaufsliste hinzugefügt."
    )
    assert assistant.snapshot()["lists"] == {"shopping": ["milk"], "einkaufsliste": ["eier"]}
    assert (
        ask(meaning("what is on my shopping list", "lists_query", list_name="shopping"))[1]
        == "On the shopping list: milk."
    )

    assert (
        ask(meaning("turn off the kitchen lights", "iot_hue_lightoff", house_place="kitchen"))[1]
        == "Lights off: kitchen."
    )
    ask(
        meaning(
            "set the bedroom lights to twenty percent",
            "iot_hue_lightchange",
            house_place="bedroom",
            change_amount="twenty percent",
        )
    )
    lights = {light["room"]: light for light in assistant.snapshot()["lights"]}
    assert lights["bedroom"]["brightness"] == 20 and lights["bedroom"]["is_on"]
    assert not lights["kitchen"]["is_on"]
    assert ask(meaning("allume la lumière", "iot_hue_lighton", "fr-FR"))[1] == (
        "Lumières allumées : toutes les pièces."
    )

    assert ask(meaning("what is seven times seven", "qa_maths"))[1] == "That is 49."
    assert ask(meaning("was ist zwölf geteilt durch vier", "qa_maths", "de-DE"))[1] == (
        "Das ergibt 3."
    )
    assert ask(meaning("convert five miles to kilometers", "qa_maths"))[1] == (
        "5 miles is 8.047 kilometers."
    )
    assert ask(meaning("what time is it", "datetime_query"))[1] == (
        "It is 10:00\u202fAM on Wednesday, November 25, 2026."
    )
    assert ask(meaning("wie spät ist es", "datetime_query", "de-DE"))[1] == (
        "Es ist 10:00, Mittwoch, 25. November 2026."
    )

    assert ask(meaning("what's the weather", "weather_query")) == (
        "not_connected",
        "Sorry, I'm not connected to a service for that (weather query).",
        False,
    )
    # Swahili has no templates: English, and the reply says so.
    _, _, _, reply = assistant.respond(meaning("habari", "general_greet", "sw-KE"))
    assert reply.fallback and reply.text == "Hello! How can I help?"
    assert len(reply_languages()) >= 10


def test_a_registered_skill_replaces_the_not_connected_answer(
    tiny_joint: tuple[JointModel, Path],
) -> None:
    class Weather(Skill):
        scenarios = ("weather",)

        def handle(self, request: SkillRequest, state: AssistantState) -> SkillReply:
            return SkillReply("math_result", {"result": 21})

    helper = Assistant(NLU.load(tiny_joint[1]), AssistantSettings(speak=False), skills=[Weather()])
    _, skill, _, reply = helper.respond(meaning("how warm is it", "weather_query"))
    assert (skill, reply.text) == ("weather", "That is 21.")
    assert "alarms" in SKILLS and "not_connected" in SKILLS


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.duckdb"
    first = AssistantState(path)
    first.add_item("shopping", "milk", NOW)
    first.add_alarm("alarm", datetime(2026, 11, 26, 7, 0), None, NOW)
    first.close()
    again = AssistantState(path)
    assert again.items("shopping") == ["milk"]
    assert [a.at for a in again.alarms(("alarm",), NOW)] == [datetime(2026, 11, 26, 7, 0)]
    again.close()


def test_replies_are_spoken_and_audio_limits_are_named(tmp_path: Path) -> None:
    audio, voice = speak("Alarm set for seven.", "en-US")
    assert audio[:4] == b"RIFF" and voice == "en-us"
    assert voice_for("de-DE") == "de" and voice_for("pt-BR") == "pt-br"
    # Japanese and Chinese voices exist but cannot read kanji/hanzi; Khmer has none: no
    # English voice reads those texts instead.
    assert voice_for("ja-JP") is None and "kanji" in str(why_silent("ja-JP"))
    assert voice_for("km-KH") is None and why_silent("km-KH") == "espeak-ng has no voice for km-KH"
    assert why_silent("en-US") is None
    with pytest.raises(SpeechError, match=r"cannot speak zh-CN text: .*pinyin"):
        speak("今天天气怎么样", "zh-CN")
    clip = decode(audio)
    assert clip.format == "wav" and 0.5 < clip.seconds < 5
    with pytest.raises(AudioError, match="the limit is 1,000") as large:
        decode(audio, AudioLimits(max_bytes=1000))
    assert large.value.status == 413
    with pytest.raises(AudioError, match="not wav, webm, ogg") as unknown:
        decode(b"ID3\x03 not audio")
    assert unknown.value.status == 415
    with pytest.raises(AudioError, match=r"lasts .* the limit is 1 s"):
        decode(audio, AudioLimits(max_seconds=1))
    with pytest.raises(AudioError, match="cannot be decoded"):
        decode(b"RIFF\x10\x00\x00\x00WAVEfmt broken")


def test_text_request_runs_the_whole_pipeline(assistant: Assistant) -> None:
    turn = assistant.handle_text("wake me up at seven am", "en-US")
    assert turn.transcript is None and turn.locale == "en-US"
    assert turn.reply.text and turn.skill
    assert set(turn.timings_ms) == {"nlu", "skill", "total"}


@pytest.fixture(scope="module")
def whisper_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the Whisper tests: base is joined from its two packages once."""
    return tmp_path_factory.mktemp("whisper-cache")


@pytest.fixture
def shared_cache(whisper_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's polynlu cache is the module's, where Whisper base is joined already."""
    return whisper_cache


@pytest.mark.slow
def test_speech_in_speech_out_with_whisper_base(
    tiny_joint: tuple[JointModel, Path],
    tmp_path: Path,
    shared_cache: Path,
) -> None:
    helper = Assistant(NLU.load(tiny_joint[1]), AssistantSettings(), now=lambda: NOW)
    turn = helper.handle_audio(spoken_wav("wake me up at seven am tomorrow", "en-US"))
    assert turn.transcript is not None
    assert turn.transcript.language == "en" and turn.locale == "en-US"
    assert "wake me up" in turn.transcript.text.lower()
    assert turn.interpretation.locale_source == "detected"
    assert turn.audio is not None and turn.audio[:4] == b"RIFF"
    assert {"decode", "asr", "nlu", "skill", "tts", "total"} <= set(turn.timings_ms)
    reply = tmp_path / "reply.wav"
    reply.write_bytes(turn.audio)
    transcribed = subprocess.run(  # the process inherits POLYNLU_CACHE: the joined model
        ["polynlu", "transcribe", "--json", str(reply)], capture_output=True, text=True, check=True
    )
    assert '"language": "en"' in transcribed.stdout


@pytest.mark.slow
def test_http_assistant_takes_text_and_audio_and_refuses_bad_audio(
    tiny_joint: tuple[JointModel, Path],
    tmp_path: Path,
    shared_cache: Path,
) -> None:
    settings = ServeSettings(
        model=str(tiny_joint[1]), max_audio_bytes=1_000_000, max_audio_seconds=10
    )
    with LiveServer(settings) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        typed = client.post(
            "/v1/assistant", json={"text": "set an alarm for seven am", "locale": "en-US"}
        )
        assert typed.status_code == 200, typed.text
        body = typed.json()
        assert body["transcript"] is None and body["reply_text"]
        assert base64.b64decode(body["reply_audio"])[:4] == b"RIFF"
        assert body["interpretation"]["model"]["name"] == "tiny-joint"
        assert body["reply_silent"] is None

        japanese = {"text": "七時に起こして", "locale": "ja-JP"}
        unspeakable = client.post("/v1/assistant", json=japanese)
        assert unspeakable.status_code == 200, unspeakable.text
        assert unspeakable.json()["reply_audio"] is None
        assert "kanji" in unspeakable.json()["reply_silent"]

        spoken = spoken_wav("turn off the lights", "en-US")
        heard = client.post("/v1/assistant", files={"audio": ("a.wav", spoken, "audio/wav")})
        assert heard.status_code == 200, heard.text
        assert "lights" in heard.json()["transcript"]["text"].lower()
        assert heard.json()["timings_ms"]["asr"] > 0

        state = client.get("/v1/assistant/state").json()
        assert {"alarms", "lists", "lights", "plugs"} <= set(state)

        refusals = {
            "format": client.post("/v1/assistant", files={"audio": ("a.mp3", b"ID3 x", "a/b")}),
            "length": client.post(
                "/v1/assistant",
                files={"audio": ("a.wav", spoken_wav("one", "en-US", pad_s=11), "a/b")},
            ),
            "size": client.post(
                "/v1/assistant", files={"audio": ("a.wav", b"RIFF" + b"\0" * 1_100_000, "a/b")}
            ),
            "empty form": client.post("/v1/assistant", files={"locale": (None, "en-US")}),
            "bad locale": client.post("/v1/assistant", json={"text": "hi", "locale": "english"}),
            "bad form locale": client.post(
                "/v1/assistant",
                files={"audio": ("a.wav", spoken, "a/b"), "locale": (None, "english")},
            ),
            "media type": client.post(
                "/v1/assistant", content=b"hi", headers={"content-type": "text/plain"}
            ),
        }
        statuses = {name: r.status_code for name, r in refusals.items()}
        assert statuses == {
            "format": 415,
            "length": 422,
            "size": 413,
            "empty form": 422,
            "bad locale": 422,
            "bad form locale": 422,
            "media type": 415,
        }
        for response in refusals.values():
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"]
        assert "limit is 10 s" in refusals["length"].json()["detail"]
        assert "1,065,536" in refusals["size"].json()["detail"]
