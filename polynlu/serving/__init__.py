"""The HTTP service (FastAPI + uvicorn): ``create_app(ServeSettings(model=DIR))``.

Imported lazily, so that ``polynlu.serving.settings`` (which the CLI reads for its defaults)
does not bring FastAPI along.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polynlu.serving.app import create_app
    from polynlu.serving.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from polynlu.serving.app import create_app

        return create_app
    if name == "ServeSettings":
        from polynlu.serving.settings import ServeSettings

        return ServeSettings
    raise AttributeError(name)
