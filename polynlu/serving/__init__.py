"""The HTTP service (FastAPI + uvicorn): ``create_app(ServeSettings(model=DIR))``."""

from polynlu.serving.app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app"]
