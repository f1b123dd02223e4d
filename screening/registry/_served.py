"""MLflow's own scoring app as ``screening serve`` runs it: error answers that do not repeat the request.

MLflow's scoring server answers a few mistakes with the request itself in the
message: a ``params`` value of the wrong type (``"language": 5``) comes back as
``Failed to predict data '<every form of the request>'``, a body that is not JSON as
``Input: <the whole body>``, and an unexpected error with a Python stack trace. A
case system logs such answers; a form holds a case id that may be a CPR number.
:class:`ErrorsWithoutRequests` wraps MLflow's app (the same routes, the same
answers to every request it scores): an answer of status 400 or more keeps its
``error_code`` and its message without the echoed request, without the stack
trace, and with every CPR-shaped number masked. Answers to scored requests
(status 200) pass untouched.

``uvicorn`` makes the app with :func:`served_app` (``--factory
screening.registry._served:served_app``), in the environment MLflow's own ``mlflow
models serve`` gives its app (the model's folder in ``__pyfunc_model_path__``; see
:func:`~screening.registry.serve_command`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from screening.intake import mask_cpr

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: What MLflow's messages wrap around a request they repeat: the data scored, a body that was not JSON.
_REQUEST_IN_MESSAGE = (re.compile(r"Failed to predict data '.*?'\.\s*Error:\s*", re.S),
                       re.compile(r"\s*Input:\s.*", re.S))
#: Longest message kept (MLflow's own are a few lines).
_MESSAGE_CHARACTERS = 1000


def quiet_error(body: bytes) -> bytes:
    """An error answer's body as sent: JSON with its ``error_code`` and its message, no request repeated.

    Parameters
    ----------
    body : bytes
        The body MLflow's app sent (JSON with ``message``, perhaps ``error_code`` and
        ``stack_trace``, or plain text).

    Returns
    -------
    bytes
        ``{"error_code": ..., "message": ...}`` in UTF-8: the request MLflow quoted
        cut out, the stack trace left out, CPR-shaped numbers masked.
    """
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {"message": body.decode("utf-8", "replace")}
    message = str(answer.get("message", ""))
    for wrapper in _REQUEST_IN_MESSAGE:
        message = wrapper.sub(" ", message)
    message = mask_cpr(message.strip())[:_MESSAGE_CHARACTERS]
    quiet = {"error_code": str(answer.get("error_code", "BAD_REQUEST")), "message": message}
    return json.dumps(quiet, ensure_ascii=False).encode("utf-8")


class ErrorsWithoutRequests:
    """ASGI middleware: answers of status 400 and more rewritten by :func:`quiet_error`, the rest passed on.

    Parameters
    ----------
    app : ASGI application
        MLflow's scoring app.
    """

    def __init__(self, app: Callable[[Message, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}  # the start of an error answer, held until its body is whole
        body: list[bytes] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                held["start"] = message
                return
            if message["type"] != "http.response.body" or "start" not in held:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            quiet = quiet_error(b"".join(body))
            start = held.pop("start")
            headers = [(name, value) for name, value in start.get("headers", [])
                       if name.lower() not in (b"content-length", b"content-type")]
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(quiet)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": quiet, "more_body": False})

        await self.app(scope, receive, sending)


def served_app() -> ErrorsWithoutRequests:
    """MLflow's scoring app for the model its environment names (built as ``mlflow models serve`` builds it),
    wrapped in :class:`ErrorsWithoutRequests`."""
    from mlflow.pyfunc.scoring_server import app as scoring

    return ErrorsWithoutRequests(scoring.app)
