"""Label projection: a labelled utterance and its translation → the translation, labelled.

For translations that carry no annotation (from translators, a translation system, or
MASSIVE's parallel train utterances, whose gold annotation is never read): the intent
carries over, and each slot moves onto the words of the translation aligned with its words.

The alignment is SimAlign's (Jalili Sabet et al., Findings of EMNLP 2020), with the
multilingual encoder polynlu already ships, so no outside aligner or parallel corpus is
needed: each word is the mean of its sub-words' states at a middle layer, and a source and a
target word align when each is the other's most similar word (``argmax``), with ``itermax``
rounds for the words left over and ``grow`` (the default) letting a word left over join its
neighbour's partner. Japanese and Chinese are aligned by
the tokenizer's pieces rather than by characters: a character alone carries little meaning
for the encoder, and ``明日`` should align as one unit; a Japanese particle after a word is a
unit of its own, as the joint model reads it, so that a slot can end before it.

A slot goes to the smallest stretch of the translation that covers every word aligned with
its words. Where two projected slots would overlap, the better-aligned one stays; a slot none
of whose words aligns is dropped and counted (``Projection.dropped``), never guessed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from polynlu.data.example import Example, example_from_spans
from polynlu.errors import DataError, PolynluError
from polynlu.models.features import split_japanese_particles
from polynlu.text.segmentation import Word, is_character_segmented, segment
from polynlu.text.spans import Span

if TYPE_CHECKING:
    import torch

    from polynlu.data.massive import MassiveData
    from polynlu.models.backbones.registry import Backbone

Advance = Callable[[int, int], None]
"""Progress: (utterances encoded, of how many)."""
AlignMethod = Literal["argmax", "itermax", "grow"]
ALIGN_METHODS: tuple[AlignMethod, ...] = ("argmax", "itermax", "grow")


@dataclass(frozen=True)
class ProjectSettings:
    layer: int = 6
    """The encoder layer whose states represent words: measured best of 4, 6, 8 and 10 for
    multilingual-e5-small (``benchmarks/projection.py``, docs/projection.md); SimAlign's
    choice for mBERT is its layer 8 of 12."""
    method: AlignMethod = "grow"
    """``itermax`` beat ``argmax`` at every layer measured (+3 to +5 slot F1); ``grow`` beat
    ``itermax`` over the 51 locales (74.7 → 77.2 slot F1; better in 48 of them, vi-VN +21.7,
    ja-JP +10.5; at most 0.7 worse in the other 3)."""
    batch_size: int = 64
    japanese_particles: bool = True
    """Japanese particles after a kanji or katakana word are units of their own, as the
    joint model reads them (``polynlu.models.features.JAPANESE_PARTICLES``)."""


@dataclass(frozen=True)
class Pair:
    """A labelled source utterance and a translation of it."""

    source: Example
    target_locale: str
    target_text: str


@dataclass
class Projection:
    examples: list[Example]
    dropped: int = 0
    """Slots left out: no word of theirs aligned, or a better-aligned slot overlapped them."""
    slots: int = 0
    """Slots of the source examples, projected or dropped."""
    failed: list[DataError] = field(default_factory=list)
    """Pairs whose projected example could not be built (an unreadable translation)."""


def alignment_units(
    text: str, locale: str | None, offsets: Sequence[tuple[int, int]]
) -> list[Word]:
    """The units aligned: benchmark words, or in Japanese and Chinese the tokenizer's pieces
    (``offsets``, special tokens dropped) snapped to whole benchmark words."""
    words = segment(text, locale)
    if not is_character_segmented(locale):
        return words
    units: list[Word] = []
    for start, end in offsets:
        # Snap to the benchmark words the piece touches: an ASCII run is one word there.
        touched = [w for w in words if w.start < end and start < w.end]
        if not touched:
            continue
        first, last = touched[0].start, touched[-1].end
        if units and first < units[-1].end:  # a piece inside the previous unit's word
            previous = units.pop()
            first = previous.start
        units.append(Word(text[first:last], first, last))
    return units


def align(similarity: np.ndarray, method: AlignMethod = "argmax") -> set[tuple[int, int]]:
    """Word pairs (source, target) from a similarity matrix ``[source, target]``: mutual
    best matches; ``itermax`` then repeats, at most twice, on the words unaligned on both
    sides, which keeps the alignment one-to-one; ``grow`` adds many-to-one pairs to that
    (``_grow``), as SimAlign's own itermax lets a free word join one already aligned."""
    if similarity.size == 0:
        return set()
    pairs = _mutual_best(similarity)
    if method in ("itermax", "grow"):
        for _ in range(2):
            free_source = sorted(set(range(similarity.shape[0])) - {i for i, _ in pairs})
            free_target = sorted(set(range(similarity.shape[1])) - {j for _, j in pairs})
            if not free_source or not free_target:
                break
            sub = similarity[np.ix_(free_source, free_target)]
            more = {(free_source[i], free_target[j]) for i, j in _mutual_best(sub)}
            if not more:
                break
            pairs |= more
    if method == "grow":
        pairs = _grow(similarity, pairs)
    return pairs


def _grow(similarity: np.ndarray, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Many-to-one: an unaligned word joins the word its neighbour is aligned with, when that
    is also its own most similar word on the other side, repeated until nothing joins.

    Where one word of a language is several units of another (Vietnamese writes a space
    between syllables: "tomorrow" is "ngày mai"), one-to-one pairs cover only part of a slot;
    growing along neighbours, as grow-diag does for statistical MT alignments, covers it."""
    pairs = set(pairs)
    best_source = similarity.argmax(axis=0)
    best_target = similarity.argmax(axis=1)
    changed = True
    while changed:
        changed = False
        aligned_target = {j for _, j in pairs}
        aligned_source = {i for i, _ in pairs}
        for j in range(similarity.shape[1]):
            i = int(best_source[j])
            if j not in aligned_target and ((i, j - 1) in pairs or (i, j + 1) in pairs):
                pairs.add((i, j))
                changed = True
        for i in range(similarity.shape[0]):
            j = int(best_target[i])
            if i not in aligned_source and ((i - 1, j) in pairs or (i + 1, j) in pairs):
                pairs.add((i, j))
                changed = True
    return pairs


def _mutual_best(similarity: np.ndarray) -> set[tuple[int, int]]:
    forward = similarity.argmax(axis=1)
    backward = similarity.argmax(axis=0)
    return {(i, int(j)) for i, j in enumerate(forward) if backward[j] == i}


def project_spans(
    source_units: Sequence[Word],
    target_units: Sequence[Word],
    spans: Sequence[Span],
    pairs: set[tuple[int, int]],
    similarity: np.ndarray,
) -> tuple[list[Span], int]:
    """The target spans of ``spans`` under the alignment ``pairs``; (spans, dropped)."""
    candidates: list[tuple[float, Span]] = []
    dropped = 0
    for span in spans:
        inside = {
            n
            for n, unit in enumerate(source_units)
            if unit.start < span.end and span.start < unit.end
        }
        aligned = [(i, j) for i, j in pairs if i in inside]
        if not aligned:
            dropped += 1
            continue
        first = min(j for _, j in aligned)
        last = max(j for _, j in aligned)
        score = float(np.mean([similarity[i, j] for i, j in aligned]))
        candidates.append(
            (score, Span(span.label, target_units[first].start, target_units[last].end))
        )
    kept: list[Span] = []
    for _, span in sorted(candidates, key=lambda item: -item[0]):
        if any(span.start < other.end and other.start < span.end for other in kept):
            dropped += 1
            continue
        kept.append(span)
    return sorted(kept, key=lambda span: span.start), dropped


class WordAligner:
    """Word vectors from one layer of a multilingual encoder, for ``align``.

    It takes the backbone over: the layers above ``settings.layer`` are dropped from its
    encoder (where it is BERT-like), as nothing reads them and they cost a third of the time."""

    def __init__(self, backbone: Backbone, settings: ProjectSettings = ProjectSettings()) -> None:
        layers = int(backbone.encoder.config.num_hidden_layers)
        if not 0 <= settings.layer <= layers:
            raise ValueError(f"layer {settings.layer}: the encoder has layers 0 to {layers}")
        stack = getattr(getattr(backbone.encoder, "encoder", None), "layer", None)
        if stack is not None:
            del stack[settings.layer :]
        self.backbone = backbone
        self.settings = settings
        self.tokenizer = (
            split_japanese_particles(backbone.tokenizer)
            if settings.japanese_particles
            else backbone.tokenizer
        )
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(256)

    def units_and_vectors(
        self,
        texts: Sequence[str],
        locales: Sequence[str | None],
        advance: Advance | None = None,
    ) -> list[tuple[list[Word], np.ndarray]]:
        """For each text, its alignment units and one unit vector each ``[units, hidden]``."""
        import torch

        results: list[tuple[list[Word], np.ndarray]] = []
        for start in range(0, len(texts), self.settings.batch_size):
            if advance:
                advance(start, len(texts))
            chunk = list(texts[start : start + self.settings.batch_size])
            chunk_locales = locales[start : start + self.settings.batch_size]
            encodings = self.tokenizer.encode_batch(chunk)
            ids, mask = padded(encodings)
            with torch.inference_mode():
                output = self.backbone.encoder(
                    input_ids=ids, attention_mask=mask, output_hidden_states=True
                )
            states = output.hidden_states[self.settings.layer].float().numpy()
            for row, (encoding, text, locale) in enumerate(
                zip(encodings, chunk, chunk_locales, strict=True)
            ):
                pieces = [
                    (index, offset)
                    for index, (offset, special) in enumerate(
                        zip(encoding.offsets, encoding.special_tokens_mask, strict=True)
                    )
                    if not special and offset[1] > offset[0] and text[offset[0] : offset[1]].strip()
                ]
                units = alignment_units(text, locale, [offset for _, offset in pieces])
                vectors = np.zeros((len(units), states.shape[-1]), dtype=np.float32)
                for n, unit in enumerate(units):
                    inside = [i for i, (s, e) in pieces if s < unit.end and unit.start < e]
                    if inside:
                        vectors[n] = states[row, inside].mean(axis=0)
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                results.append((units, vectors / np.maximum(norms, 1e-9)))
        if advance:
            advance(len(texts), len(texts))
        return results


def padded(encodings: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """The token ids of ``tokenizers`` encodings, padded into one batch, and its mask."""
    import torch

    # Rows are filled in NumPy: a tensor made per row costs more than the tiny encoder's
    # forward pass over the 150,000 words that code-switching embeds.
    lengths = [len(encoding.ids) for encoding in encodings]
    ids = np.zeros((len(encodings), max(lengths)), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        ids[row, : lengths[row]] = encoding.ids
    mask = (np.arange(ids.shape[1]) < np.array(lengths)[:, None]).astype(np.int64)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def project(
    pairs: Iterable[Pair], aligner: WordAligner, *, advance: Advance | None = None
) -> Projection:
    """Each pair's translation with the source's intent and its slots projected."""
    pairs = list(pairs)
    # One source utterance has a translation in every target locale: encode it once.
    distinct = list(dict.fromkeys((pair.source.utt, pair.source.locale) for pair in pairs))
    texts = [text for text, _ in distinct] + [pair.target_text for pair in pairs]
    locales = [locale for _, locale in distinct] + [pair.target_locale for pair in pairs]
    encoded = aligner.units_and_vectors(texts, locales, advance)
    source_of = dict(zip(distinct, encoded[: len(distinct)], strict=True))
    result = Projection(examples=[])
    for pair, (target_units, target_vectors) in zip(pairs, encoded[len(distinct) :], strict=True):
        source_units, source_vectors = source_of[(pair.source.utt, pair.source.locale)]
        similarity = source_vectors @ target_vectors.T
        alignment = align(similarity, aligner.settings.method)
        spans, dropped = project_spans(
            source_units, target_units, pair.source.slots, alignment, similarity
        )
        result.slots += len(pair.source.slots)
        result.dropped += dropped
        try:
            result.examples.append(
                example_from_spans(
                    id=pair.source.id,
                    locale=pair.target_locale,
                    intent=pair.source.intent,
                    utt=pair.target_text,
                    spans=spans,
                    partition=pair.source.partition,
                    scenario=pair.source.scenario,
                    segmentation="benchmark",
                )
            )
        except DataError as error:
            result.failed.append(error)
    return result


def massive_pairs(
    data: MassiveData,
    source_locale: str,
    target_locales: Sequence[str],
    partitions: Sequence[str],
    *,
    max_per_locale: int | None = None,
    show_progress: bool = True,
) -> tuple[list[Example], list[Pair]]:
    """MASSIVE is parallel by ``id``: each source example (capped to ``max_per_locale``, the
    same ids for every target) paired with the utterances of that id in ``target_locales``.
    Only a target row's text is kept: its gold annotation is dropped as it is read, so
    nothing projected can have seen it. Returns (source examples, pairs)."""
    from polynlu.data.massive import cap_per_locale

    sources = cap_per_locale(
        data.read([source_locale], list(partitions), show_progress=show_progress).examples,
        max_per_locale,
    )
    wanted = {example.id for example in sources}
    pairs: list[Pair] = []
    for locale in target_locales:
        rows = data.read([locale], list(partitions), show_progress=False).examples
        text_of = {row.id: row.utt for row in rows if row.id in wanted}  # the text, nothing else
        pairs += [
            Pair(source, locale, text_of[source.id]) for source in sources if source.id in text_of
        ]
    return sources, pairs


PAIR_COLUMNS = ("intent", "source", "translation")
"""A pairs file's header: these, then optionally ``locale`` (the translation's)."""


def read_pairs(path: Path, *, source_locale: str, target_locale: str | None) -> list[Pair]:
    """A user's own translations: a TSV file with the header ``intent, source, translation``
    (and optionally ``locale``), a row each: the intent, the source utterance annotated as
    MASSIVE annotates (``wake me at [time : five am]``), and its plain translation, in the
    row's ``locale`` or else ``target_locale``. Errors name the file, line and column."""
    from polynlu.data.formats.native import parse_bracketed
    from polynlu.text.validation import LOCALE_MESSAGE, MAX_ROW_BYTES, is_locale, read_lines

    pairs: list[Pair] = []
    with path.open("rb") as handle:
        lines = read_lines(handle, max_bytes=MAX_ROW_BYTES)
        header = next(lines, None)
        columns = tuple(header.text.split("\t")) if header and header.text else ()
        if columns not in (PAIR_COLUMNS, (*PAIR_COLUMNS, "locale")):
            raise DataError(
                f"the header is not {'<TAB>'.join(PAIR_COLUMNS)}[<TAB>locale]", file=path, line=1
            )
        for line in lines:
            if line.text is None:
                raise DataError(f"the line {line.problem}", file=path, line=line.number)
            if not line.text.strip():
                continue
            cells = line.text.split("\t")
            if len(cells) != len(columns):
                raise DataError(
                    f"{len(cells)} columns, expected {len(columns)} ({', '.join(columns)})",
                    file=path,
                    line=line.number,
                )
            row = dict(zip(columns, (cell.strip() for cell in cells), strict=True))
            locale = row.get("locale") or target_locale
            try:
                if locale is None:
                    raise DataError(
                        "no locale for the translation: add a locale column or give "
                        "--target-locales",
                        field="locale",
                    )
                if not is_locale(locale):
                    raise DataError(f"{locale!r} {LOCALE_MESSAGE}", field="locale")
                if not row["translation"]:
                    raise DataError("the translation is empty", field="translation")
                text, spans = parse_bracketed(row["source"])
                source = example_from_spans(
                    id=str(line.number),
                    locale=source_locale,
                    intent=row["intent"],
                    utt=text,
                    spans=spans,
                    segmentation="benchmark",
                )
            except DataError as error:
                # The readers name their own fields (``example``, ``text``, ``slot``): here
                # they are all the ``source`` column, the intent apart.
                field = error.field if error.field in columns else "source"
                raise DataError(error.reason, file=path, line=line.number, field=field) from error
            pairs.append(Pair(source, locale, row["translation"]))
    if not pairs:
        raise DataError("no pairs after the header", file=path)
    return pairs


MANIFEST_FILE = "projection.json"


@dataclass
class ProjectionRun:
    output: Path
    counts: dict[str, int]
    """Examples written per locale (the source locale's are its own, unprojected)."""
    projection: Projection


def project_massive(
    massive: MassiveData,
    output: Path,
    *,
    source_locale: str,
    target_locales: Sequence[str],
    partitions: Sequence[str] = ("train", "dev"),
    max_per_locale: int | None = None,
    backbone: str = "multilingual-e5-small",
    settings: ProjectSettings = ProjectSettings(),
    show_progress: bool = True,
) -> ProjectionRun:
    """``polynlu project --data``: MASSIVE-format files in ``output`` that ``polynlu train``
    takes — the source locale's examples as they are, and every target locale's translations
    with the source's labels projected — plus ``projection.json``, what made them."""
    _refuse_existing(output)
    targets = [locale for locale in target_locales if locale != source_locale]
    sources, pairs = massive_pairs(
        massive,
        source_locale,
        targets,
        partitions,
        max_per_locale=max_per_locale,
        show_progress=show_progress,
    )
    made_from = {
        "data": massive.spec,
        "source_locale": source_locale,
        "target_locales": targets,
        "partitions": list(partitions),
        "max_per_locale": max_per_locale,
    }
    return _project_and_write(
        sources, pairs, output, made_from, massive.spec, backbone, settings, show_progress
    )


def project_pairs(
    pairs_file: Path,
    output: Path,
    *,
    source_locale: str,
    target_locale: str | None = None,
    backbone: str = "multilingual-e5-small",
    settings: ProjectSettings = ProjectSettings(),
    show_progress: bool = True,
) -> ProjectionRun:
    """``polynlu project --pairs``: as ``project_massive``, from a user's own pairs file
    (``read_pairs``); every source utterance is kept once, as it is."""
    _refuse_existing(output)
    pairs = read_pairs(pairs_file, source_locale=source_locale, target_locale=target_locale)
    # One source row per distinct (intent, annotation): a row translated into two locales
    # is one labelled utterance, written once.
    distinct: dict[tuple[str, str, tuple[Span, ...]], Example] = {}
    for pair in pairs:
        key = (pair.source.intent, pair.source.utt, pair.source.slots)
        distinct.setdefault(key, pair.source)
    made_from = {
        "pairs": str(pairs_file),
        "source_locale": source_locale,
        "target_locales": sorted({pair.target_locale for pair in pairs}),
    }
    return _project_and_write(
        list(distinct.values()),
        pairs,
        output,
        made_from,
        str(pairs_file),
        backbone,
        settings,
        show_progress,
    )


def _refuse_existing(output: Path) -> None:
    if output.exists() and any(output.iterdir()):
        raise PolynluError(f"{output} exists and is not empty: name a new folder")


def _project_and_write(
    sources: list[Example],
    pairs: list[Pair],
    output: Path,
    made_from: Mapping[str, object],
    spec: str,
    backbone: str,
    settings: ProjectSettings,
    show_progress: bool,
) -> ProjectionRun:
    from polynlu.data.example import DataSet
    from polynlu.data.formats import write_data
    from polynlu.models.backbones.registry import load_backbone
    from polynlu.progress import LoggedProgress

    aligner = WordAligner(load_backbone(backbone, show_progress=show_progress), settings)
    with LoggedProgress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task(f"Aligning {len(pairs):,} translations", total=None)
        projection = project(
            pairs,
            aligner,
            advance=lambda done, total: progress.update(task, completed=done, total=total),
        )
    examples = [*sources, *projection.examples]
    write_data(
        DataSet(
            examples=examples,
            format="massive",
            source=spec,
            partitioned=True,
            segmentation="benchmark",
        ),
        output,
        "massive",
    )
    counts = dict(sorted(Counter(example.locale for example in examples).items()))
    manifest = {
        "made_by": "polynlu project",
        **made_from,
        "backbone": backbone,
        "settings": asdict(settings),
        "examples": counts,
        "slots": projection.slots,
        "slots_dropped": projection.dropped,
        "failed": [str(error) for error in projection.failed],
    }
    (output / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return ProjectionRun(output, counts, projection)
