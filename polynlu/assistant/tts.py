"""Speech out: espeak-ng (Debian's ``espeak-ng`` package) speaks the reply as a WAV file.

espeak-ng is small and fast on a CPU. Debian 12's build has voices for 49 of MASSIVE's 52
locales, and 46 of them read their language's script (``CANNOT_READ``: not Japanese or
Chinese). The voice for a locale is found from the voices it lists (``de-DE`` → ``de``,
``pt-BR`` → ``pt-br``). The text goes in on stdin, never on the command line.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

from polynlu.errors import PolynluError
from polynlu.langid import language_of

ESPEAK = "espeak-ng"
# Languages espeak-ng names otherwise than the locale table does.
_VOICE_ALIASES = {"zh": "cmn", "jv": "id", "tl": "fil"}
DEFAULT_VOICE = "en-us"
# Voices that cannot read the script their language is written in, so speaking with them
# is noise, not speech. Measured with `espeak-ng -x` (the phonemes it would say) on 60
# MASSIVE dev utterances in each of 32 locales with a voice (espeak-ng 1.51, Debian 12):
# the share of words read with another language's rules has a median of 0.40 in Japanese
# and 0.80 in Chinese, and 0.00 in every other locale (at most 0.6 for a single utterance).
# A newer espeak-ng build with the full dictionaries may read them.
CANNOT_READ = {
    "ja": "espeak-ng's Japanese voice reads kana only: it says 'Chinese letter' for each kanji",
    "zh": "espeak-ng's Chinese voice reads the characters' pinyin with English rules",
}


class SpeechError(PolynluError):
    """espeak-ng is missing or failed."""


@cache
def espeak_path() -> str:
    path = shutil.which(ESPEAK)
    if path is None:
        raise SpeechError(
            "speaking replies needs espeak-ng: apt-get install espeak-ng (or brew install "
            "espeak-ng)"
        )
    return path


@cache
def voices() -> frozenset[str]:
    """The language codes espeak-ng has voices for (``en-us``, ``de``, ``cmn``...)."""
    listing = subprocess.run(
        [espeak_path(), "--voices"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return frozenset(line.split()[1] for line in listing.splitlines()[1:] if line.strip())


def voice_for(locale: str | None) -> str | None:
    """The espeak-ng voice for ``locale`` (the locale itself, then its language), or None
    where espeak-ng has none (``why_silent`` says why)."""
    if not locale:
        return DEFAULT_VOICE
    language = language_of(locale)
    if language in CANNOT_READ:
        return None
    available = voices()
    for candidate in (locale.lower(), language, _VOICE_ALIASES.get(language, "")):
        if candidate and candidate in available:
            return candidate
    return None


def why_silent(locale: str | None) -> str | None:
    """Why text in ``locale`` cannot be spoken, or None where it can."""
    if voice_for(locale) is not None:
        return None
    assert locale is not None  # no locale speaks with the default voice
    return CANNOT_READ.get(language_of(locale), f"espeak-ng has no voice for {locale}")


def speak(text: str, locale: str | None, *, speed_wpm: int = 165) -> tuple[bytes, str]:
    """``(WAV bytes, voice)``. Text is never read with another language's voice (the
    English voice reads Khmer as "letter" and a code number for each character): a locale
    ``voice_for`` has no voice for raises ``SpeechError`` saying why."""
    voice = voice_for(locale)
    if voice is None:
        raise SpeechError(f"cannot speak {locale} text: {why_silent(locale)}")
    try:
        result = subprocess.run(
            [espeak_path(), "-v", voice, "-s", str(speed_wpm), "--stdout"],
            input=text.encode("utf-8"),
            capture_output=True,
            check=True,
            timeout=30,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise SpeechError(f"espeak-ng could not speak with voice {voice}: {error}") from error
    return result.stdout, voice
