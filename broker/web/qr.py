"""The customers' QR call pages: ``/c/{device}``, its JSON twin, its live feed and its actions.

A printed sign's code opens ``/c/{device}?k=...``; ``k`` is the device's HMAC key (``keys.py``),
so a guessed or copied-and-changed URL gets a 403 page (and a record at the hub) instead.
The phone gets a signed cookie of its own on its first visit: the call limit, the
"my call" view and the cancel right follow it.  The calls themselves are ``QrDesk``'s
(``qrdesk.py``); this module only turns requests into its calls and its views into responses.

Example::

    routes = QrPages(phones).routes()   # phones: a started server.PhonesServer; composed by app.create_app
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from broker.contract import protocol as p
from broker.web.bodies import Body, client_ip, read_body, refused
from broker.web.customer import pick_language, texts
from broker.web.keys import check_qr_key, sign, unsign
from broker.web.pages import other_language, templates
from broker.web.qrdesk import CallRefused
from broker.web.server import HEARTBEAT_S, PhonesServer
from broker.web.sse import event_stream

PHONE_COOKIE = "staffcall_phone"
TEXTS_FOR_SCRIPT = ("reconnecting", "qr_offline", "qr_call_again", "skip", "qr_too_long", "thanks")
"""The catalog texts ``qr.js`` shows by itself (the rest come in the views)."""


class QrPages:
    def __init__(self, server: PhonesServer) -> None:
        self.server = server
        self.cfg = server.cfg
        self.secret = server.secret

    # --- who asks, in which language, with which key ----------------------------------------

    def phone_of(self, request: Request) -> str | None:
        return unsign(self.secret, request.cookies.get(PHONE_COOKIE))

    def lang_of(self, request: Request, asked: str | None = None) -> str:
        return pick_language(
            asked or request.query_params.get("lang"),
            request.headers.get("accept-language", ""),
            self.cfg.store.language,
        )

    def check_device(self, request: Request, device: str, key: str | None) -> Response | None:
        """None when the device and key are good, else the page or JSON that says why (and a record)."""
        lang = self.lang_of(request)
        dev = self.cfg.devices_by_id.get(device)
        if dev is None or dev.kind != "qr" or device not in self.server.qr.points:
            why, text = "unknown QR device", "qr_unknown_device"
        elif not check_qr_key(self.secret, device, key):
            why, text = ("missing QR key" if not key else "wrong QR key"), "qr_bad_key"
        else:
            return None
        self.server.record_rejected(device, why, client_ip(request))
        t = texts(lang)
        if request.method == "GET" and not request.url.path.endswith((".json", "/events")):
            ctx = {"t": t, "lang": lang, "title": t("qr_bad_key_title"), "text": t(text), "store": self.cfg.store.name}
            return templates.TemplateResponse(request, "qr_bad.html", ctx, status_code=403)
        return JSONResponse({"error": "bad_key", "message": t(text)}, status_code=403)

    # --- the page, its JSON twin and its live feed --------------------------------------------

    async def page(self, request: Request) -> Response:
        device = request.path_params["device"]
        key = request.query_params.get("k")
        bad = self.check_device(request, device, key)
        if bad is not None:
            return bad
        cfg = self.cfg
        lang = self.lang_of(request)
        dev = cfg.devices_by_id[device]
        t = texts(lang)
        ctx = {
            "t": t,
            "lang": lang,
            "other_lang": other_language(lang),
            "store": cfg.store.name,
            "device": device,
            "label": dev.label or device,
            "zone": cfg.zone_name(dev.zone, lang) if dev.zone in cfg.zones_by_id else "",
            "key": key,
            "reasons": [(r, t(f"reason.{r}")) for r in self.server.reasons],
            "free_text": cfg.web.free_text,
            "faces": [(n, t(f"face.{n}")) for n in range(1, 5)],
            "texts": {k: t(k) for k in TEXTS_FOR_SCRIPT},
        }
        resp = templates.TemplateResponse(request, "qr.html", ctx)
        if self.phone_of(request) is None:
            resp.set_cookie(
                PHONE_COOKIE,
                sign(self.secret, secrets.token_urlsafe(12)),
                max_age=365 * 86400,
                httponly=True,
                samesite="lax",
            )
        return resp

    def view(self, request: Request, device: str, lang: str) -> dict[str, Any]:
        q = request.query_params
        return self.server.qr.view(device, q.get("call"), self.phone_of(request) or "", q.get("token"), lang)

    async def json(self, request: Request) -> Response:
        device = request.path_params["device"]
        bad = self.check_device(request, device, request.query_params.get("k"))
        return bad or JSONResponse(self.view(request, device, self.lang_of(request)))

    async def events(self, request: Request) -> Response:
        device = request.path_params["device"]
        bad = self.check_device(request, device, request.query_params.get("k"))
        if bad is not None:
            return bad
        lang = self.lang_of(request)
        return event_stream(
            request,
            self.server.listen,
            lambda: self.view(request, device, lang),
            heartbeat_s=HEARTBEAT_S,
            skip_unchanged=True,
        )

    # --- actions: call, cancel, feedback ------------------------------------------------------

    async def action(self, request: Request) -> Response:
        device, action = request.path_params["device"], request.path_params["action"]
        lang = self.lang_of(request)
        try:
            body = await read_body(request)
            lang = self.lang_of(request, body.lang)
            bad = self.check_device(request, device, body.k)
            if bad is not None:
                return bad
            phone = self.phone_of(request)
            if phone is None:
                raise CallRefused("no_cookies", 400)
            if action == "call":
                return self.call(request, device, phone, body, lang)
            if not body.call or not p.valid_id(body.call):
                raise CallRefused("bad_request", 400, detail="call: a call id is needed")
            if action == "cancel":
                self.server.qr.cancel(device, body.call, phone, body.token)
            elif action == "feedback":
                if body.score is None:
                    raise CallRefused("bad_request", 400, detail="score: 1 to 4")
                self.server.qr.feedback(device, body.call, phone, body.token, body.score)
            else:
                raise CallRefused("bad_request", 404, detail=f"no action {action!r}")
            return JSONResponse({"ok": True})
        except CallRefused as exc:
            return refused(exc, lang)

    def call(self, request: Request, device: str, phone: str, body: Body, lang: str) -> Response:
        server = self.server
        if body.reason is not None and body.reason not in server.reasons:
            raise CallRefused("bad_request", 400, detail=f"reason: one of {server.reasons}")
        text = (body.text or "").strip() or None
        if text is not None:
            if not self.cfg.web.free_text:
                raise CallRefused("bad_request", 400, detail="text: free text is not enabled")
            text = " ".join(text.split())  # plain text, one line: no control characters reach staff
            if len(text) > 200 or not text.isprintable():
                raise CallRefused("too_long", 400)
        current = server.qr.open_call(device)
        if current is not None and body.token:  # this phone's own open call: the same call back, no new press
            call_id, token, _ = server.qr.call(device, phone, body.token, body.reason, text, lang)
            if token:
                return JSONResponse({"call": call_id, "token": token, "new": False})
        now = server.clock()
        ip = client_ip(request)
        with server.lock:
            wait = server.limiter.check(phone, ip, now)
            if wait is None:
                server.limiter.note(phone, ip, now)
        if wait is not None:
            raise CallRefused("wait", 429, s=wait)
        call_id, token, _ = server.qr.call(device, phone, None, body.reason, text, lang)
        return JSONResponse({"call": call_id, "token": token, "new": token is not None})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/c/{device}", self.page),
            Route("/c/{device}/view.json", self.json),
            Route("/c/{device}/events", self.events),
            Route("/c/{device}/{action}", self.action, methods=["POST"]),
        ]
