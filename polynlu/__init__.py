"""polynlu: one model, many languages — intents and slots for voice and chat assistants."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("polynlu")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

from polynlu.nlu import NLU
from polynlu.types import IntentScore, Interpretation, Slot

__all__ = ["NLU", "IntentScore", "Interpretation", "Slot", "__version__"]
