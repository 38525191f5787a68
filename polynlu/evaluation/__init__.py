"""Scoring predictions the way MASSIVE does, and reporting them per locale and group."""

from polynlu.evaluation.metrics import Scores, compute_scores, fit_to_gold, to_bio

__all__ = ["Scores", "compute_scores", "fit_to_gold", "to_bio"]
