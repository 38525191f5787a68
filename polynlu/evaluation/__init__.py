"""Scoring predictions the way MASSIVE does, and reporting them per locale and group."""

from polynlu.evaluation.metrics import Scores, fit_to_gold, score, to_bio

__all__ = ["Scores", "fit_to_gold", "score", "to_bio"]
