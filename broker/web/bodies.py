"""The phones' side of HTTP: the one JSON body they send, and a refusal as they receive it.

One strict ``Body`` for every POST (an unknown field is refused, a body over ``MAX_BODY``
bytes too) so a hostile phone gets a 400 or 413, never a crash.  A refusal's ``message``
comes from the sv/en catalogs, for the person; ``detail`` says more, for a developer.

Example:

    >>> import json
    >>> reply = refused(CallRefused("wait", 429, s=60), "en")
    >>> reply.status_code, json.loads(reply.body)["error"], json.loads(reply.body)["s"]
    (429, 'wait', 60)
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse

from broker.web.customer import texts
from broker.web.qrdesk import CallRefused

MAX_BODY = 2048


class Body(msgspec.Struct, forbid_unknown_fields=True):
    """Every JSON body the phones send; a field a route does not use must be absent."""

    k: str | None = None
    reason: str | None = None
    text: str | None = None
    lang: str | None = None
    call: str | None = None
    token: str | None = None
    score: int | None = None
    staff: str | None = None
    pin: str | None = None
    status: str | None = None
    action: str | None = None
    outcome: str | None = None


_body_decoder = msgspec.json.Decoder(Body)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


async def read_body(request: Request) -> Body:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise CallRefused("too_large", 413)
    try:
        return _body_decoder.decode(raw or b"{}")
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise CallRefused("bad_request", 400, detail=str(exc)[:200]) from None


def refused(exc: CallRefused, lang: str = "en", prefix: str = "qr_") -> JSONResponse:
    """The refusal as JSON: ``message`` from the catalogs for the person; ``detail`` says more to a developer."""
    t = texts(lang)
    key = f"{prefix}{exc.key}"
    message = t(key, **exc.values)
    if message == key:  # no text of its own (a developer's error): the catalog's general one
        message = t(f"{prefix}bad_request")
    return JSONResponse({"error": exc.key, "message": message, **exc.values}, status_code=exc.status)
