"""Reading data: MASSIVE and the formats assistants already use, into one ``Example`` shape."""

from polynlu.data.annotation import Annotation, format_annotation, parse_annotation
from polynlu.data.example import DataSet, Example, example_from_spans
from polynlu.data.locales import LocaleInfo, locale_info, massive_locales, parse_locale_list
from polynlu.data.massive import PARTITIONS, MassiveData, ReadResult
from polynlu.data.schema import Schema, massive_schema
from polynlu.data.sources import cache_dir, fetch_massive, resolve_data

__all__ = [
    "PARTITIONS",
    "Annotation",
    "DataSet",
    "Example",
    "LocaleInfo",
    "MassiveData",
    "ReadResult",
    "Schema",
    "cache_dir",
    "example_from_spans",
    "fetch_massive",
    "format_annotation",
    "locale_info",
    "massive_locales",
    "massive_schema",
    "parse_annotation",
    "parse_locale_list",
    "resolve_data",
]
