"""``run_server``: the uvicorn process(es) behind ``polynlu serve``.

Each worker builds its own app (and loads its own model) from ``ServeSettings`` passed in an
environment variable, since uvicorn starts workers as fresh processes.
"""

from __future__ import annotations

import os
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from polynlu.serving.app import SETTINGS_ENVIRONMENT, ServeSettings

APP_FACTORY = "polynlu.serving.app:app_from_environment"
STARTUP_FAILURE = 3  # uvicorn's own exit status for this


def run_server(
    settings: ServeSettings, *, host: str, port: int, workers: int, log_level: str
) -> None:
    os.environ[SETTINGS_ENVIRONMENT] = settings.to_environment()
    config = uvicorn.Config(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level=log_level
    )
    if workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:  # the port was taken, or the app failed to start (logged)
            raise SystemExit(STARTUP_FAILURE)
        return
    # uvicorn binds the socket its workers share with proto 0, so asyncio does not set
    # TCP_NODELAY on the connections it accepts, and every keep-alive request after the first
    # waits ~40 ms for the client's delayed ACK (uvicorn issue #3149; measured here: 56 ms a
    # request on a keep-alive connection against 13 ms with one worker). Rebuilding the socket
    # object with IPPROTO_TCP restores it.
    bound = config.bind_socket()
    listener = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    listener.set_inheritable(True)
    Multiprocess(config, sockets=[listener]).run()
