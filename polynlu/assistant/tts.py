"""Speech out: espeak-ng (Debian's ``espeak-ng`` package) speaks the reply as a WAV file.

espeak-ng is small, fast on a CPU and has voices for 47 of MASSIVE's 52 locales; its voice
for a locale is found from the voices it lists (``de-DE`` → ``de``, ``pt-BR`` → ``pt-br``,
``zh-CN`` → ``cmn``). The text goes in on stdin, never on the command line.
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
    where espeak-ng has none."""
    if not locale:
        return DEFAULT_VOICE
    available = voices()
    language = language_of(locale)
    for candidate in (locale.lower(), language, _VOICE_ALIASES.get(language, "")):
        if candidate and candidate in available:
            return candidate
    return None


def speak(text: str, locale: str | None, *, speed_wpm: int = 165) -> tuple[bytes, str]:
    """``(WAV bytes, voice)``: English's voice where the locale's language has none."""
    voice = voice_for(locale) or DEFAULT_VOICE
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
