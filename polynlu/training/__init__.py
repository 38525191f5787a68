"""Training: one ``Trainer`` interface per model kind, found by name in ``TRAINERS``.

``trainer`` fine-tunes the joint model, ``distill`` distils a joint teacher into a smaller
student, ``baseline`` fits the linear baseline.
"""

from polynlu.training.base import TRAINERS, Trainer, TrainingData

__all__ = ["TRAINERS", "Trainer", "TrainingData"]
