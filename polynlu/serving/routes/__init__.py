"""The service's routes, one ``APIRouter`` per concern."""

from polynlu.serving.routes.assistant import router as assistant_router
from polynlu.serving.routes.examples import router as examples_router
from polynlu.serving.routes.feedback import router as feedback_router
from polynlu.serving.routes.parse import router as parse_router
from polynlu.serving.routes.status import router as status_router

ROUTERS = (parse_router, feedback_router, examples_router, status_router, assistant_router)

__all__ = ["ROUTERS"]
