"""Audio in: the formats a browser or a file gives (WAV, WebM, Ogg), checked against limits
before and after decoding, and decoded to 16 kHz mono float samples, Whisper's input.

Decoding is PyAV's (FFmpeg, bundled in its wheel), as faster-whisper does it; the limits are
ours, so that an upload too large, too long or in an unknown format is refused with a
message naming what is wrong instead of a decoder's traceback.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from polynlu.errors import PolynluError

SAMPLE_RATE = 16_000
"""Whisper's sampling rate: every decoded clip is resampled to it."""

AUDIO_FORMATS = {
    "wav": "RIFF/WAVE",
    "webm": "WebM/Matroska (what Chrome's MediaRecorder records)",
    "ogg": "Ogg (Opus or Vorbis; what Firefox's MediaRecorder records)",
}


class AudioError(PolynluError):
    """Audio that cannot be used: over a limit, empty, or not a format we read."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status the service answers with: 413 for size, 415 for format, 422 else."""


@dataclass(frozen=True)
class AudioLimits:
    max_bytes: int = 5_000_000
    """About 2.5 minutes of 16 kHz 16-bit WAV; far more of compressed WebM or Ogg."""
    max_seconds: float = 30.0
    """One Whisper window: a request to an assistant is a sentence, not a dictation."""
    min_seconds: float = 0.1


def audio_format(data: bytes) -> str | None:
    """``wav``, ``webm`` or ``ogg`` from the file's first bytes; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[:4] == b"OggS":
        return "ogg"
    return None


@dataclass(frozen=True)
class Audio:
    samples: npt.NDArray[np.float32]
    """Mono, ``SAMPLE_RATE`` Hz, in [-1, 1]."""
    format: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def decode(data: bytes, limits: AudioLimits | None = None) -> Audio:
    """The clip's samples, or an ``AudioError`` saying which limit or format it breaks."""
    limits = limits or AudioLimits()
    if len(data) > limits.max_bytes:
        raise AudioError(
            f"the audio has {len(data):,} bytes; the limit is {limits.max_bytes:,}", status=413
        )
    kind = audio_format(data)
    if kind is None:
        raise AudioError(
            f"the audio is not {', '.join(AUDIO_FORMATS)} (its first bytes are {data[:12]!r})",
            status=415,
        )
    from faster_whisper.audio import decode_audio

    try:
        samples = decode_audio(io.BytesIO(data), sampling_rate=SAMPLE_RATE)
    except Exception as error:  # PyAV raises its own error types for each way a file is bad
        raise AudioError(f"the {kind} audio cannot be decoded: {error}") from error
    audio = Audio(np.asarray(samples, dtype=np.float32), kind)
    if audio.seconds > limits.max_seconds:
        raise AudioError(
            f"the audio lasts {audio.seconds:.1f} s; the limit is {limits.max_seconds:g} s"
        )
    if audio.seconds < limits.min_seconds:
        raise AudioError(f"the audio lasts {audio.seconds:.2f} s: there is nothing to hear")
    return audio
