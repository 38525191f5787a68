"""Bilingual lexicons: two-column TSVs, ``english<TAB>translation``, one pair a line
(GATITOS' ``en_<code>.tsv``, PanLex extracts, a user's own list); several lines give several
translations. Read here, below the models, because a lexicon serves twice: to make training
data (``polynlu.augment.lexicons``) and to read a request's words back into English while
parsing (``LexiconReading``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from polynlu.data.locales import find_language
from polynlu.errors import DataError, PolynluError
from polynlu.text.segmentation import segment
from polynlu.text.validation import MAX_ROW_BYTES, read_lines, text_problem

ENGLISH = ("en-US", "eng_Latn", "en")
"""The locales English data goes by, in MASSIVE, SIB-200 and everything else."""
_FILE_NAME = re.compile(r"^en[_-](?P<code>.+)\.tsv$")
_NOTE = re.compile(r"\s+\([^()]*\)$")
"""A translator's note after a translation, ``pike (verb)``, not ``фамили(я)``."""
MAX_PHRASE_WORDS = 4


@dataclass
class Lexicon:
    """English word or phrase (case-folded words) → its translations."""

    code: str
    """The target language, as the file names it (GATITOS' BCP-47 ``qu``)."""
    source: str
    entries: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    skipped: list[DataError] = field(default_factory=list)
    """Lines left out with ``skip_invalid``, each naming its file and line."""

    def write(self, path: Path) -> None:
        """As a two-column TSV that ``read_lexicon`` reads back, a translation a line."""
        lines = (
            f"{' '.join(english)}\t{translation}\n"
            for english, translations in self.entries.items()
            for translation in translations
        )
        path.write_text("".join(lines), "utf-8")

    @cached_property
    def longest(self) -> int:
        """The most words an entry has (computed once: every translation asks)."""
        return max((len(key) for key in self.entries), default=0)


def read_lexicon(path: Path, code: str | None = None, *, skip_invalid: bool = False) -> Lexicon:
    """One two-column TSV. ``code`` defaults to the ``<code>`` of ``en_<code>.tsv``. A line
    that is not two columns raises, or with ``skip_invalid`` is left out and listed in
    ``Lexicon.skipped`` (GATITOS' en_arn.tsv breaks one translation over two lines)."""
    match = _FILE_NAME.match(path.name)
    if code is None:
        if match is None:
            raise PolynluError(
                f"{path}: name the file en_<code>.tsv (en_qu.tsv) so the language is known"
            )
        code = match["code"]
    lexicon = Lexicon(code, str(path))
    with path.open("rb") as handle:
        for line in read_lines(handle, max_bytes=MAX_ROW_BYTES):
            if line.text is not None and not line.text.strip():
                continue
            columns = (line.text or "").split("\t")
            problem = _line_problem(line.text, line.problem, columns)
            if problem is not None:
                error = DataError(problem, file=path, line=line.number)
                if not skip_invalid:
                    raise error
                lexicon.skipped.append(error)
                continue
            english = tuple(word.casefold() for word in columns[0].split())
            if not english or len(english) > MAX_PHRASE_WORDS:
                continue  # a sentence, not a lexicon entry: word-for-word cannot use it
            known = lexicon.entries.setdefault(english, [])
            for translation in columns[1].split(";"):
                translation = _NOTE.sub("", translation).strip()
                if translation and translation not in known:
                    known.append(translation)
    lexicon.entries = {key: value for key, value in lexicon.entries.items() if value}
    if not lexicon.entries:
        raise PolynluError(f"{path}: no english<TAB>translation lines")
    return lexicon


def _line_problem(text: str | None, unreadable: str | None, columns: list[str]) -> str | None:
    if text is None:
        return f"the line {unreadable}"
    if len(columns) != 2:
        return f"{len(columns)} column(s); a lexicon line is english<TAB>translation"
    problem = text_problem(columns[1])
    return None if problem is None else f"the translation {problem}"


def read_lexicons(path: str | Path, *, skip_invalid: bool = False) -> dict[str, Lexicon]:
    """A file, or a folder of ``en_<code>.tsv`` files: language code → lexicon."""
    path = Path(path).expanduser()
    if path.is_file():
        lexicon = read_lexicon(path, skip_invalid=skip_invalid)
        return {lexicon.code: lexicon}
    if not path.is_dir():
        raise PolynluError(f"lexicon '{path}' not found")
    files = sorted(p for p in path.iterdir() if _FILE_NAME.match(p.name))
    if not files:
        raise PolynluError(f"{path} holds no en_<code>.tsv lexicon")
    lexicons = (read_lexicon(file, skip_invalid=skip_invalid) for file in files)
    return {lexicon.code: lexicon for lexicon in lexicons}


def language_key(code: str) -> str:
    """One name for a language in any code system (``qu``, ``quy_Latn``): a lexicon's file
    and a request's locale meet on it."""
    language = find_language(code)
    return language.flores if language is not None else code


@dataclass
class LexiconReading:
    """Requests read back into English word for word, with the lexicon of their language:
    the longest run of words that is one of its translations becomes that translation's
    English; the other words stay. ``NLU.reader`` parses both the request and its reading and
    averages their intent probabilities, so a language the encoder hardly knows is also
    read through the English it was trained on (translate-test, with a lexicon for the
    translator)."""

    readings: dict[str, dict[tuple[str, ...], str]] = field(default_factory=dict)
    """Language (``language_key``) → case-folded translation words → their English."""

    @classmethod
    def of(cls, lexicons: dict[str, Lexicon]) -> LexiconReading:
        readings: dict[str, dict[tuple[str, ...], str]] = {}
        for code, lexicon in lexicons.items():
            reading = readings.setdefault(language_key(code), {})
            for english, translations in lexicon.entries.items():
                for translation in translations:
                    words = tuple(word.casefold() for word in translation.split())
                    if 0 < len(words) <= MAX_PHRASE_WORDS:
                        # The first English in the file wins: taking the one of fewest
                        # words and letters instead scored +2.0 on SIB-200 against +2.3.
                        reading.setdefault(words, " ".join(english))
        return cls(readings)

    @classmethod
    def read(cls, path: str | Path, *, skip_invalid: bool = False) -> LexiconReading:
        return cls.of(read_lexicons(path, skip_invalid=skip_invalid))

    @property
    def languages(self) -> list[str]:
        return sorted(self.readings)

    def __call__(self, text: str, locale: str | None) -> str | None:
        """``text`` read into English; None when its language has no lexicon or the lexicon
        has none of its words."""
        reading = self.readings.get(language_key(locale)) if locale else None
        if not reading:
            return None
        words = segment(text, locale, "punctuation")
        pieces: list[str] = []
        index = found = 0
        while index < len(words):
            for run in range(min(MAX_PHRASE_WORDS, len(words) - index), 0, -1):
                english = reading.get(tuple(w.text.casefold() for w in words[index : index + run]))
                if english is not None:
                    pieces.append(english)
                    found += 1
                    break
            else:
                run = 1
                pieces.append(words[index].text)
            index += run
        return " ".join(pieces) if found else None
