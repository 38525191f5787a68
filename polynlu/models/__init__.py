"""Model kinds behind one interface (``NLUModel``), found by name through ``MODEL_KINDS``."""

from polynlu.models.base import MODEL_KINDS, NLUModel, load_model

__all__ = ["MODEL_KINDS", "NLUModel", "load_model"]
