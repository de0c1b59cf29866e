"""The staff web app's routes: ``/staff``, its JSON twin, its live feed, its API and its install files.

A colleague signs in with their PIN (``[[staff]] pin_hash``; five wrong tries a minute per
address, then a wait) and gets a signed session cookie; the API's actions go to the pure
``StaffDesk`` (``staffdesk.py``) under the server's lock and its commands out over MQTT
(``PhonesServer.run``).  The app speaks ``[store] language`` or the one the colleague picked
(``?lang=``, kept in a cookie), not the phone's own.

Example::

    routes = StaffApp(phones).routes()   # phones: a started server.PhonesServer; composed by app.create_app
"""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from broker.contract import protocol as p
from broker.contract.pins import verify_pin
from broker.web.bodies import Body, client_ip, read_body, refused
from broker.web.customer import catalog, pick_language, texts
from broker.web.keys import sign
from broker.web.pages import STATIC, other_language, templates
from broker.web.qrdesk import CallRefused
from broker.web.server import HEARTBEAT_S, STAFF_COOKIE, STAFF_SESSION_S, PhonesServer
from broker.web.sse import event_stream
from broker.web.staffdesk import Publish

STAFF_LANG_COOKIE = "staffcall_staff_lang"
STATUSES = ("on_shift", "break", "off")
ACTIONS = ("ack", "greet", "resolve", "decline", "dismiss")


class StaffApp:
    def __init__(self, server: PhonesServer) -> None:
        self.server = server
        self.cfg = server.cfg

    def lang_of(self, request: Request) -> str:
        """``?lang=`` (kept in a cookie), else the cookie, else ``[store] language`` (not the phone's own)."""
        asked = request.query_params.get("lang") or request.cookies.get(STAFF_LANG_COOKIE)
        return pick_language(asked, "", self.cfg.store.language)

    def signed_in(self, request: Request) -> str:
        staff = self.server.staff_of(request)
        if staff is None:
            raise CallRefused("signed_out", 401)
        return staff

    # --- the page, its JSON twin and its live feed --------------------------------------------

    async def page(self, request: Request) -> Response:
        staff = self.server.staff_of(request)
        lang = self.lang_of(request)
        t = texts(lang)
        ctx = {
            "t": t,
            "lang": lang,
            "other_lang": other_language(lang),
            "store": self.cfg.store.name,
            "staff": staff,
            "manager": staff in self.server.radio.managers,
            "names": [(s.id, s.name) for s in self.cfg.staff],
            "statuses": [(k, t(f"staff_{k}")) for k in STATUSES],
            "texts": {k: v for k, v in catalog(lang).items() if k.startswith(("staff_", "reason."))},
        }
        resp = templates.TemplateResponse(request, "staff.html", ctx)
        if request.query_params.get("lang") == lang:
            resp.set_cookie(STAFF_LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return resp

    async def json(self, request: Request) -> Response:
        staff = self.server.staff_of(request)
        if staff is None:
            return refused(CallRefused("signed_out", 401), self.lang_of(request), prefix="staff_error_")
        return JSONResponse(self.server.staff_view(staff, self.lang_of(request)))

    async def events(self, request: Request) -> Response:
        server = self.server
        staff = server.staff_of(request)
        lang = self.lang_of(request)
        if staff is None:
            return refused(CallRefused("signed_out", 401), lang, prefix="staff_error_")
        with server.lock:
            cmds = server.desk.stream_opened(staff, server.clock())
        server.run(cmds)

        def closed() -> None:
            with server.lock:
                server.desk.stream_closed(staff, server.clock())

        return event_stream(
            request,
            server.listen,
            lambda: server.staff_view(staff, lang),
            heartbeat_s=HEARTBEAT_S,
            skip_unchanged=True,
            on_close=closed,
        )

    # --- the API: sign in, then ping, presence, team, act, sign out ----------------------------

    async def api(self, request: Request) -> Response:
        what = request.path_params["what"]
        lang = self.lang_of(request)
        try:
            body = await read_body(request)
            if what == "login":
                return await self.login(request, body)
            staff = self.signed_in(request)
            if what == "logout":
                return self.logout(staff)
            step = {"ping": self.ping, "presence": self.presence, "team": self.team, "act": self.act}.get(what)
            if step is None:
                raise CallRefused("bad_request", 404, detail=f"no {what!r}")
            self.server.run(step(staff, body, self.server.clock()))
            return JSONResponse({"ok": True, "view": self.server.staff_view(staff, lang)})
        except CallRefused as exc:
            return refused(exc, lang, prefix="staff_error_")

    async def login(self, request: Request, body: Body) -> Response:
        server = self.server
        ip = client_ip(request)
        if not server.login_allowed(ip):
            raise CallRefused("too_many_tries", 429)
        member = self.cfg.staff_by_id.get(body.staff or "")
        ok = bool(member and member.pin_hash and body.pin) and await run_in_threadpool(
            verify_pin, body.pin or "", (member.pin_hash if member else None) or ""
        )
        if not ok or member is None:
            server.note_login_failure(ip)
            if member and not member.pin_hash:
                raise CallRefused("no_pin", 401)
            raise CallRefused("wrong_pin", 401)
        resp = JSONResponse({"ok": True})
        resp.set_cookie(
            STAFF_COOKIE,
            sign(server.secret, f"{member.id}|{int(time.time())}"),
            max_age=STAFF_SESSION_S,
            httponly=True,
            samesite="strict",
        )
        return resp

    def logout(self, staff: str) -> Response:
        with self.server.lock:
            cmds = self.server.desk.sign_out(staff, self.server.clock())
        self.server.run(cmds)
        resp = JSONResponse({"ok": True})
        resp.delete_cookie(STAFF_COOKIE)
        return resp

    def ping(self, staff: str, body: Body, now: float) -> list[Publish]:
        with self.server.lock:
            return self.server.desk.seen(staff, now)

    def presence(self, staff: str, body: Body, now: float) -> list[Publish]:
        if body.status not in STATUSES:
            raise CallRefused("bad_request", 400, detail="status: on_shift, break or off")
        with self.server.lock:
            return self.server.desk.set_presence(staff, body.status, now)

    def team(self, staff: str, body: Body, now: float) -> list[Publish]:
        """A manager sets a radio pager's presence (``radiopagers.py``)."""
        server = self.server
        with server.lock:
            cmds = server.radio.set_presence(staff, body.staff, body.status)
            for cmd in cmds:  # shown at once; the broker's retained copy confirms it
                server.desk.on_presence(body.staff, cmd.body["status"])
        return cmds

    def act(self, staff: str, body: Body, now: float) -> list[Publish]:
        if body.action not in ACTIONS or not p.valid_id(body.call or ""):
            raise CallRefused("bad_request", 400, detail="action: ack/greet/resolve/decline; call: an id")
        if body.outcome is not None and body.outcome not in self.server.outcomes:
            raise CallRefused("bad_request", 400, detail=f"outcome: one of {self.server.outcomes}")
        with self.server.lock:
            try:
                return self.server.desk.act(staff, body.action, body.call, now, body.outcome)
            except ValueError as exc:
                raise CallRefused("not_allowed", 409, detail=str(exc)) from None

    # --- installable app: manifest and service worker -----------------------------------------

    async def manifest(self, request: Request) -> Response:
        t = texts(self.lang_of(request))
        return JSONResponse(
            {
                "name": t("staff_app_name", store=self.cfg.store.name),
                "short_name": t("staff_app_short_name"),
                "start_url": "/staff",
                "scope": "/staff",
                "display": "standalone",
                "background_color": "#10151c",
                "theme_color": "#10151c",
                "icons": [{"src": "/phones-static/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
            },
            media_type="application/manifest+json",
        )

    async def service_worker(self, request: Request) -> Response:
        return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/staff", self.page),
            Route("/staff/view.json", self.json),
            Route("/staff/events", self.events),
            Route("/staff/manifest.webmanifest", self.manifest),
            Route("/staff/sw.js", self.service_worker),
            Route("/staff/api/{what}", self.api, methods=["POST"]),
        ]
