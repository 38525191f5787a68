"""``NLU``: the public face of a trained model, whatever its kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from polynlu.data.example import Example, example_from_spans
from polynlu.data.formats.native import parse_bracketed
from polynlu.data.lexicons import LexiconReading, read_lexicons
from polynlu.errors import DataError, PolynluError
from polynlu.langid import LanguageIdentifier, language_of
from polynlu.models.base import NLUModel, load_model
from polynlu.text.batches import map_by_length
from polynlu.text.validation import intent_name_problem
from polynlu.types import Interpretation


class NLU:
    """Load a saved model and parse utterances.

    A missing locale is detected from the text (``detect_language=False`` leaves it unknown),
    and every result says whether its locale was given or detected and whether the model saw
    that language in training.

    >>> nlu = NLU.load("runs/baseline")                             # doctest: +SKIP
    >>> nlu.parse("wake me up at five am", locale="en-US").intent   # doctest: +SKIP
    'alarm_set'
    """

    def __init__(
        self,
        model: NLUModel,
        *,
        detect_language: bool = True,
        rewriter: Callable[[str], str | None] | None = None,
        reader: Callable[[str, str | None], str | None] | None = None,
    ) -> None:
        self.model = model
        self.rewriter = rewriter
        """Text → the text to parse instead, or None: how rewrites learned from use
        (``learning.rewrites``) reach the model without the model knowing of them."""
        self.reader = reader
        """Text and its locale → the text read into English, or None: a lexicon's reading
        (``data.lexicons.LexiconReading``), parsed beside the text for the intent."""
        self.identifier = LanguageIdentifier(model.train_locales) if detect_language else None
        self._trained_languages = {language_of(locale) for locale in model.train_locales}

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        detect_language: bool = True,
        lexicon: str | Path | None = None,
    ) -> NLU:
        """``lexicon``: a lexicon or a folder of them (``data.lexicons``) whose languages'
        requests are also read into English word for word (``LexiconReading``); a model with
        a tokenizer of its own also gets pieces, in memory, for the words of those in scripts
        it lacks (``NLUModel.extend_vocabulary``; ``polynlu extend-vocabulary`` saves them).
        Both pay on SIB-200 (docs/languages.md)."""
        model = load_model(folder)
        if not lexicon:
            return cls(model, detect_language=detect_language)
        lexicons = read_lexicons(lexicon, skip_invalid=True)
        model.extend_vocabulary(lexicons, record=False)
        return cls(model, detect_language=detect_language, reader=LexiconReading.of(lexicons))

    def save(self, folder: str | Path) -> None:
        self.model.save(Path(folder))

    def parse(self, text: str, locale: str | None = None) -> Interpretation:
        return self.parse_batch([text], [locale])[0]

    def parse_batch(
        self,
        texts: Sequence[str],
        locales: Sequence[str | None] | None = None,
        *,
        batch_size: int = 32,
    ) -> list[Interpretation]:
        if isinstance(texts, str):
            raise TypeError("parse_batch takes a sequence of texts; use parse for one text")
        given: Sequence[str | None] = locales if locales is not None else [None] * len(texts)
        if len(given) != len(texts):
            raise PolynluError(f"{len(texts)} texts but {len(given)} locales")
        originals = texts
        if self.rewriter is not None:
            texts = [self.rewriter(text) or text for text in texts]
        chosen_locales: list[str | None] = []
        sources: list[str | None] = []
        for text, locale in zip(texts, given, strict=True):
            if locale is not None:
                chosen_locales.append(locale)
                sources.append("given")
                continue
            detected = self.identifier.detect(text) if self.identifier else None
            chosen_locales.append(detected.locale if detected else None)
            sources.append("detected" if detected else None)
        reader = self.reader
        readings = [
            reader(text, locale) if reader is not None else None
            for text, locale in zip(texts, chosen_locales, strict=True)
        ]
        # Utterances of similar length share a model call: less padding, more throughput.
        results = map_by_length(
            list(zip(texts, chosen_locales, readings, strict=True)),
            lambda rows: self.model.predict(
                [text for text, _, _ in rows],
                [locale for _, locale, _ in rows],
                [reading for _, _, reading in rows],
            ),
            length=lambda row: len(row[0]),
            batch_size=batch_size,
        )
        return [
            replace(
                result,
                locale_source=source,
                zero_shot=None
                if result.locale is None
                else language_of(result.locale) not in self._trained_languages,
                rewritten_from=original if original != result.text else None,
            )
            for result, source, original in zip(results, sources, originals, strict=True)
        ]

    def add_examples(
        self,
        intent: str,
        examples: Sequence[str | Example],
        *,
        locale: str | None = None,
    ) -> list[Example]:
        """Teach the model ``examples`` of ``intent`` at once, without retraining.

        ``intent`` may be new. Texts may mark slots as polynlu's YAML does (``"wake me at
        [time : five am]"``), with the model's slot types. A missing ``locale`` is detected
        from each text. The examples count through the intent's prototype, are saved with the
        model (``save``), and join a later ``polynlu train --with-added``.

        >>> nlu.add_examples("book_table", ["book a table for [people : two]"])  # doctest: +SKIP
        """
        problem = intent_name_problem(intent)
        if problem:
            raise PolynluError(f"intent {intent!r}: {problem}")
        if isinstance(examples, str):
            raise TypeError("add_examples takes a sequence of examples; wrap one text in a list")
        self.model.check_can_learn()  # before reading the examples: they may not matter
        first = len(self.model.added_examples)
        added = [
            example
            if isinstance(example, Example)
            else self._example(intent, example, locale, f"added-{first + index}")
            for index, example in enumerate(examples)
        ]
        wrong = [e.utt for e in added if e.intent != intent]
        if wrong:
            raise PolynluError(f"example {wrong[0]!r} is of another intent than {intent!r}")
        self.model.add_examples(intent, added)
        return added

    def _example(self, intent: str, annotated: str, locale: str | None, id: str) -> Example:
        try:
            text, spans = parse_bracketed(annotated)
            if locale is None:
                detected = self.identifier.detect(text) if self.identifier else None
                if detected is None:
                    raise PolynluError(
                        f"example {annotated!r}: its language cannot be told; give its locale"
                    )
                locale = detected.locale
            return example_from_spans(
                id=id,
                locale=locale,
                intent=intent,
                utt=text,
                spans=spans,
                segmentation=self.model.segmentation,
            )
        except DataError as error:
            raise PolynluError(f"example {annotated!r}: {error}") from error

    def save_additions(self, folder: str | Path) -> None:
        """Save what ``add_examples`` changed into the model's ``folder``, without rewriting
        its weights."""
        self.model.save_additions(Path(folder))
        self.model.save_config(Path(folder))
