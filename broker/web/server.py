"""The phones' part of the hub machine's web server: QR call pages (``/c/...``) and the staff app (``/staff``).

``PhonesServer`` is the shell around the pure parts: the QR call points (``QrDesk``),
the staff core (``StaffDesk``), the abuse limits, and one MQTT client of its own
(``make_client``, so credentials from config apply) that listens to pages, states,
shifts and presence and publishes staff actions and presence.  ``routes()`` gives the
Starlette routes that ``broker.web.app.create_app`` mounts beside the board.

Server push is server-sent events, as the board does: a phone's ``EventSource``
reconnects by itself; every change pushes the page's whole JSON view (small), so a
reconnect needs no replay.

Rejected QR keys: the web server must not write the hub's SQLite (one writer per
file), so it *publishes* the attempt on ``call/{device}/bad_key``, a topic the hub
subscribes to but the protocol does not define; the hub rejects it and records topic
and payload (why, the address) in its ``rejected`` table.  At most
``REJECT_RECORDS_PER_MIN`` per minute, so a flood cannot fill the log.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from broker.contract import protocol as p
from broker.contract.config import Config, ConfigError
from broker.contract.mqtt import connect_async, make_client
from broker.web.customer import catalog, pick_language, texts
from broker.web.keys import check_qr_key, sign, unsign
from broker.web.limits import CallLimiter
from broker.web.qrdesk import CallRefused, QrDesk
from broker.web.radiopagers import RadioPagers
from broker.web.staffdesk import Publish, StaffDesk
from broker.web.wills import PresenceWills
from staff_pager.pins import verify_pin

log = logging.getLogger(__name__)
HERE = __import__("pathlib").Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

PHONE_COOKIE = "staffcall_phone"
STAFF_COOKIE = "staffcall_staff"
STAFF_LANG_COOKIE = "staffcall_staff_lang"
STAFF_SESSION_S = 16 * 3600
HEARTBEAT_S = 5.0
TICK_S = 0.25
REJECT_RECORDS_PER_MIN = 30
LOGIN_FAILURES_PER_MIN = 5
MAX_BODY = 2048
PUBLIC_PREFIXES = ("/c/", "/staff", "/phones-static/")
"""Paths that stay open when ``[web] password`` guards the board: phones have their own keys."""


def require_secret(cfg: Config) -> str:
    if not cfg.web.qr_secret:
        raise ConfigError(
            "[web] qr_secret is missing: QR codes and staff sign-in need it. Add e.g. "
            "qr_secret = \"<output of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'>\" "
            "(changing it later makes printed signs invalid)"
        )
    return cfg.web.qr_secret


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


class PhonesServer:
    def __init__(self, cfg: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.secret = require_secret(cfg)
        self.clock = clock
        self.topics = p.Topics(cfg.store.id)
        self.qr = QrDesk(cfg, clock)
        self.desk = StaffDesk(grace_s=cfg.web.staff_offline_after_s)
        self.radio = RadioPagers.from_staff(cfg.staff)
        self.limiter = CallLimiter(cfg.web.call_every_s, cfg.web.calls_per_ip)
        self.reasons = (cfg.web.qr_reasons or cfg.kiosk.reasons)[:4]
        self.outcomes = cfg.web.outcomes or cfg.pager.outcomes
        """Offered at Resolved, as the pager app offers ``[pager] outcomes``."""
        self.lock = threading.Lock()
        self.rings: dict[str, int] = {}
        self._listeners: list[Callable[[], None]] = []
        self._versions = itertools.count(1)
        self.version = 0
        """Bumped at every change: a phone keeps the newest view, whichever way it came (push or answer)."""
        self._rejects: deque[float] = deque()
        self._login_failures: dict[str, deque[float]] = {}
        self.client = make_client(f"staffcall-phones-{cfg.store.id}", cfg.broker, identity="phones")
        self.wills = PresenceWills(cfg)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self._changed()
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="phones-tick", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> PhonesServer:
        connect_async(self.client, self.cfg.broker)
        self.client.loop_start()
        self.qr.start()
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        now = self.clock()
        with self.lock:
            cmds = [c for staff in list(self.desk.sessions) for c in self.desk.sign_out(staff, now)]
        for cmd in cmds:  # the server going away takes its colleagues off the routing
            self._publish(Publish(cmd.topic, {"status": "offline"}, retain=True))
        self.wills.close()
        self.qr.stop()
        self.client.disconnect()
        self.client.loop_stop()

    def ready(self) -> bool:
        return self.subscribed.is_set() and self.client.is_connected() and self.qr.ready()

    # --- MQTT ---------------------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the phones' client: %s; check [broker] username/password", reason_code)
            return
        r = self.topics.root
        client.subscribe([(f"{r}/{t}", p.QOS) for t in ("page/+", "state/+", "shift/+", "staff/+/presence")])
        with self.lock:
            for s in self.desk.sessions.values():
                s.core.outbox.reconnected()
        self._changed()

    def _on_message(self, client, userdata, msg) -> None:
        parts = msg.topic[len(self.topics.root) + 1 :].split("/")
        now = self.clock()
        try:
            with self.lock:
                if parts[0] == "page" and len(parts) == 2:
                    if self.desk.on_page(parts[1], p.decode(p.PageMsg, msg.payload), now):
                        self.rings[parts[1]] = self.rings.get(parts[1], 0) + 1
                elif parts[0] == "state" and len(parts) == 2:
                    if msg.payload:
                        self.desk.on_state(p.decode(p.StateMsg, msg.payload), now)
                    else:
                        self.desk.on_cleared(parts[1])
                elif parts[0] == "shift" and len(parts) == 2:
                    figures = json.loads(msg.payload) if msg.payload else {}
                    if not isinstance(figures, dict):
                        raise ValueError("shift figures must be a JSON object")
                    self.desk.on_shift(parts[1], figures)
                elif parts[0] == "staff" and parts[2:] == ["presence"]:
                    status = p.decode(p.PresenceMsg, msg.payload).status if msg.payload else None
                    self.desk.on_presence(parts[1], status)
        except (ValueError, p.ProtocolError) as exc:
            log.warning("phones ignored %s: %s", msg.topic[:120], exc)
            return
        self._changed()

    def _publish(self, cmd: Publish) -> None:
        info = self.client.publish(f"{self.topics.root}/{cmd.topic}", p.encode(cmd.body), qos=p.QOS, retain=cmd.retain)
        parts = cmd.topic.split("/")
        if parts[0] == "staff" and parts[2:] == ["presence"] and cmd.will:
            self.wills.follow(parts[1], cmd.body["status"])
        if cmd.seq is not None and cmd.topic.endswith("/decline"):
            staff = cmd.topic.split("/")[1]
            seq = cmd.seq

            def confirmed() -> None:  # the hub sends no state for some declines: the PUBACK confirms them
                info.wait_for_publish(10)
                with self.lock:
                    s = self.desk.sessions.get(staff)
                    if s is not None:
                        s.core.outbox.confirm_seq(seq)

            threading.Thread(target=confirmed, daemon=True).start()

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_S):
            with self.lock:
                cmds = self.desk.tick(self.clock())
            for cmd in cmds:
                self._publish(cmd)
            if cmds:
                self._changed()

    # --- listeners (one per open page) -----------------------------------------------------

    def listen(self, notify: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(notify)
        un_qr = self.qr.listen(notify)

        def unlisten() -> None:
            un_qr()
            if notify in self._listeners:
                self._listeners.remove(notify)

        return unlisten

    def _changed(self) -> None:
        self.version = next(self._versions)
        for notify in list(self._listeners):
            notify()

    # --- rejected keys -----------------------------------------------------------------------

    def record_rejected(self, device: str, why: str, ip: str) -> None:
        now = time.monotonic()
        while self._rejects and now - self._rejects[0] > 60:
            self._rejects.popleft()
        if len(self._rejects) >= REJECT_RECORDS_PER_MIN:
            return
        self._rejects.append(now)
        # The ACL lets this login write bad_key only for its own QR devices (and invalid-device): any
        # other id would be dropped by the broker without a word, and the attempt never recorded.
        where = device if device in self.qr.points else "invalid-device"
        body = {"why": why, "ip": ip[:64], "device": device[:64]}
        self.client.publish(self.topics.call_action(where, "bad_key"), json.dumps(body), qos=p.QOS)

    # --- staff sessions ----------------------------------------------------------------------

    def staff_of(self, request: Request) -> str | None:
        value = unsign(self.secret, request.cookies.get(STAFF_COOKIE))
        if not value or "|" not in value:
            return None
        staff, _, issued = value.partition("|")
        try:
            fresh = time.time() - float(issued) < STAFF_SESSION_S
        except ValueError:
            return None
        return staff if fresh and staff in self.cfg.staff_by_id else None

    def login_allowed(self, ip: str) -> bool:
        now = time.monotonic()
        q = self._login_failures.setdefault(ip, deque())
        while q and now - q[0] > 60:
            q.popleft()
        return len(q) < LOGIN_FAILURES_PER_MIN

    def staff_view(self, staff: str, lang: str) -> dict[str, Any]:
        """The staff app's JSON; zones by their names in ``lang`` (``[[zones]]``), the id when unnamed."""
        version = self.version  # before the snapshot: a change after it comes with a higher one
        now = self.clock()
        with self.lock:
            view = self.desk.view(staff, self.cfg.staff_by_id[staff].name, now, self.outcomes)
            view["version"] = version
            view["ring"] = self.rings.get(staff, 0)
            view["radio_pagers"] = self.radio.view(staff, self.desk.presence)
        view["connected"] = self.client.is_connected()
        for item in [view["alert"], *view["calls"], *view["my_calls"]]:
            if item is not None:
                item["zone_name"] = self.cfg.zone_name(item["zone"], lang)
        return view

    def run(self, cmds: list[Publish]) -> None:
        for cmd in cmds:
            self._publish(cmd)
        if cmds:
            self._changed()


# --- HTTP helpers ------------------------------------------------------------------------------


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


def sse(request: Request, server: PhonesServer, render: Callable[[], dict[str, Any]], on_close=None):
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    unlisten = server.listen(lambda: loop.call_soon_threadsafe(changed.set))

    async def stream():
        try:
            last = None
            yield f"data: {json.dumps(render())}\n\n"
            while not await request.is_disconnected():
                try:
                    await asyncio.wait_for(changed.wait(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                changed.clear()
                data = json.dumps(render())
                if data != last:
                    last = data
                    yield f"data: {data}\n\n"
        finally:
            unlisten()
            if on_close:
                on_close()

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


# --- routes ---------------------------------------------------------------------------------------


def routes(server: PhonesServer) -> list[BaseRoute]:
    cfg = server.cfg
    secret = server.secret

    def phone_of(request: Request) -> str | None:
        return unsign(secret, request.cookies.get(PHONE_COOKIE))

    def lang_of(request: Request, asked: str | None = None) -> str:
        return pick_language(
            asked or request.query_params.get("lang"), request.headers.get("accept-language", ""), cfg.store.language
        )

    def check_device(request: Request, device: str, key: str | None) -> Response | None:
        """None when the device and key are good, else the page or JSON that says why (and a record)."""
        lang = lang_of(request)
        dev = cfg.devices_by_id.get(device)
        if dev is None or dev.kind != "qr" or device not in server.qr.points:
            why, text = "unknown QR device", "qr_unknown_device"
        elif not check_qr_key(secret, device, key):
            why, text = ("missing QR key" if not key else "wrong QR key"), "qr_bad_key"
        else:
            return None
        server.record_rejected(device, why, client_ip(request))
        t = texts(lang)
        if request.method == "GET" and not request.url.path.endswith((".json", "/events")):
            ctx = {"t": t, "lang": lang, "title": t("qr_bad_key_title"), "text": t(text), "store": cfg.store.name}
            return templates.TemplateResponse(request, "qr_bad.html", ctx, status_code=403)
        return JSONResponse({"error": "bad_key", "message": t(text)}, status_code=403)

    # --- customers ----------------------------------------------------------------------------

    async def qr_page(request: Request) -> Response:
        device = request.path_params["device"]
        key = request.query_params.get("k")
        bad = check_device(request, device, key)
        if bad is not None:
            return bad
        lang = lang_of(request)
        dev = cfg.devices_by_id[device]
        t = texts(lang)
        other = next((code for code in ("en", "sv") if code != lang), "en")
        ctx = {
            "t": t,
            "lang": lang,
            "other_lang": other,
            "store": cfg.store.name,
            "device": device,
            "label": dev.label or device,
            "zone": cfg.zone_name(dev.zone, lang) if dev.zone in cfg.zones_by_id else "",
            "key": key,
            "reasons": [(r, t(f"reason.{r}")) for r in server.reasons],
            "free_text": cfg.web.free_text,
            "faces": [(n, t(f"face.{n}")) for n in range(1, 5)],
            "texts": {
                k: t(k) for k in ("reconnecting", "qr_offline", "qr_call_again", "skip", "qr_too_long", "thanks")
            },
        }
        resp = templates.TemplateResponse(request, "qr.html", ctx)
        if phone_of(request) is None:
            resp.set_cookie(
                PHONE_COOKIE,
                sign(secret, secrets.token_urlsafe(12)),
                max_age=365 * 86400,
                httponly=True,
                samesite="lax",
            )
        return resp

    def qr_view(request: Request, device: str, lang: str) -> dict[str, Any]:
        q = request.query_params
        return server.qr.view(device, q.get("call"), phone_of(request) or "", q.get("token"), lang)

    async def qr_json(request: Request) -> Response:
        device = request.path_params["device"]
        bad = check_device(request, device, request.query_params.get("k"))
        return bad or JSONResponse(qr_view(request, device, lang_of(request)))

    async def qr_events(request: Request) -> Response:
        device = request.path_params["device"]
        bad = check_device(request, device, request.query_params.get("k"))
        if bad is not None:
            return bad
        lang = lang_of(request)
        return sse(request, server, lambda: qr_view(request, device, lang))

    async def qr_action(request: Request) -> Response:
        device, action = request.path_params["device"], request.path_params["action"]
        lang = lang_of(request)
        try:
            body = await read_body(request)
            lang = lang_of(request, body.lang)
            bad = check_device(request, device, body.k)
            if bad is not None:
                return bad
            phone = phone_of(request)
            if phone is None:
                raise CallRefused("no_cookies", 400)
            if action == "call":
                return await qr_call(request, device, phone, body, lang)
            if not body.call or not p.valid_id(body.call):
                raise CallRefused("bad_request", 400, detail="call: a call id is needed")
            if action == "cancel":
                server.qr.cancel(device, body.call, phone, body.token)
            elif action == "feedback":
                if body.score is None:
                    raise CallRefused("bad_request", 400, detail="score: 1 to 4")
                server.qr.feedback(device, body.call, phone, body.token, body.score)
            else:
                raise CallRefused("bad_request", 404, detail=f"no action {action!r}")
            return JSONResponse({"ok": True})
        except CallRefused as exc:
            return refused(exc, lang)

    async def qr_call(request: Request, device: str, phone: str, body: Body, lang: str) -> Response:
        if body.reason is not None and body.reason not in server.reasons:
            raise CallRefused("bad_request", 400, detail=f"reason: one of {server.reasons}")
        text = (body.text or "").strip() or None
        if text is not None:
            if not cfg.web.free_text:
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

    # --- staff ------------------------------------------------------------------------------

    def staff_lang(request: Request) -> str:
        """``?lang=`` (kept in a cookie), else the cookie, else ``[store] language`` (not the phone's own)."""
        asked = request.query_params.get("lang") or request.cookies.get(STAFF_LANG_COOKIE)
        return pick_language(asked, "", cfg.store.language)

    async def staff_page(request: Request) -> Response:
        staff = server.staff_of(request)
        lang = staff_lang(request)
        t = texts(lang)
        cat = catalog(lang)
        ctx = {
            "t": t,
            "lang": lang,
            "other_lang": next((code for code in ("en", "sv") if code != lang), "en"),
            "store": cfg.store.name,
            "staff": staff,
            "manager": staff in server.radio.managers,
            "names": [(s.id, s.name) for s in cfg.staff],
            "statuses": [(k, t(f"staff_{k}")) for k in ("on_shift", "break", "off")],
            "texts": {k: v for k, v in cat.items() if k.startswith(("staff_", "reason."))},
        }
        resp = templates.TemplateResponse(request, "staff.html", ctx)
        if request.query_params.get("lang") == lang:
            resp.set_cookie(STAFF_LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return resp

    def signed_in(request: Request) -> str:
        staff = server.staff_of(request)
        if staff is None:
            raise CallRefused("signed_out", 401)
        return staff

    async def staff_api(request: Request) -> Response:
        what = request.path_params["what"]
        lang = staff_lang(request)
        try:
            body = await read_body(request)
            if what == "login":
                return await login(request, body)
            staff = signed_in(request)
            now = server.clock()
            if what == "ping":
                with server.lock:
                    cmds = server.desk.seen(staff, now)
            elif what == "presence":
                if body.status not in ("on_shift", "break", "off"):
                    raise CallRefused("bad_request", 400, detail="status: on_shift, break or off")
                with server.lock:
                    cmds = server.desk.set_presence(staff, body.status, now)
            elif what == "team":  # a manager sets a radio pager's presence (broker/web/radiopagers.py)
                with server.lock:
                    cmds = server.radio.set_presence(staff, body.staff, body.status)
                    for cmd in cmds:  # shown at once; the broker's retained copy confirms it
                        server.desk.on_presence(body.staff, cmd.body["status"])
            elif what == "act":
                if body.action not in ("ack", "greet", "resolve", "decline", "dismiss") or not p.valid_id(
                    body.call or ""
                ):
                    raise CallRefused("bad_request", 400, detail="action: ack/greet/resolve/decline; call: an id")
                if body.outcome is not None and body.outcome not in server.outcomes:
                    raise CallRefused("bad_request", 400, detail=f"outcome: one of {server.outcomes}")
                with server.lock:
                    try:
                        cmds = server.desk.act(staff, body.action, body.call, now, body.outcome)
                    except ValueError as exc:
                        raise CallRefused("not_allowed", 409, detail=str(exc)) from None
            elif what == "logout":
                with server.lock:
                    cmds = server.desk.sign_out(staff, now)
                server.run(cmds)
                resp = JSONResponse({"ok": True})
                resp.delete_cookie(STAFF_COOKIE)
                return resp
            else:
                raise CallRefused("bad_request", 404, detail=f"no {what!r}")
            server.run(cmds)
            return JSONResponse({"ok": True, "view": server.staff_view(staff, lang)})
        except CallRefused as exc:
            return refused(exc, lang, prefix="staff_error_")

    async def login(request: Request, body: Body) -> Response:
        ip = client_ip(request)
        if not server.login_allowed(ip):
            raise CallRefused("too_many_tries", 429)
        member = cfg.staff_by_id.get(body.staff or "")
        ok = bool(member and member.pin_hash and body.pin) and await run_in_threadpool(
            verify_pin, body.pin or "", member.pin_hash or ""
        )
        if not ok:
            server._login_failures.setdefault(ip, deque()).append(time.monotonic())
            if member and not member.pin_hash:
                raise CallRefused("no_pin", 401)
            raise CallRefused("wrong_pin", 401)
        resp = JSONResponse({"ok": True})
        resp.set_cookie(
            STAFF_COOKIE,
            sign(secret, f"{member.id}|{int(time.time())}"),
            max_age=STAFF_SESSION_S,
            httponly=True,
            samesite="strict",
        )
        return resp

    async def staff_json(request: Request) -> Response:
        staff = server.staff_of(request)
        if staff is None:
            return refused(CallRefused("signed_out", 401), staff_lang(request), prefix="staff_error_")
        return JSONResponse(server.staff_view(staff, staff_lang(request)))

    async def staff_events(request: Request) -> Response:
        staff = server.staff_of(request)
        lang = staff_lang(request)
        if staff is None:
            return refused(CallRefused("signed_out", 401), lang, prefix="staff_error_")
        with server.lock:
            cmds = server.desk.stream_opened(staff, server.clock())
        server.run(cmds)

        def closed() -> None:
            with server.lock:
                server.desk.stream_closed(staff, server.clock())

        return sse(request, server, lambda: server.staff_view(staff, lang), on_close=closed)

    async def manifest(request: Request) -> Response:
        t = texts(staff_lang(request))
        return JSONResponse(
            {
                "name": t("staff_app_name", store=cfg.store.name),
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

    async def service_worker(request: Request) -> Response:
        return FileResponse(
            HERE / "static" / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
        )

    return [
        Route("/c/{device}", qr_page),
        Route("/c/{device}/view.json", qr_json),
        Route("/c/{device}/events", qr_events),
        Route("/c/{device}/{action}", qr_action, methods=["POST"]),
        Route("/staff", staff_page),
        Route("/staff/view.json", staff_json),
        Route("/staff/events", staff_events),
        Route("/staff/manifest.webmanifest", manifest),
        Route("/staff/sw.js", service_worker),
        Route("/staff/api/{what}", staff_api, methods=["POST"]),
        Mount("/phones-static", StaticFiles(directory=str(HERE / "static")), name="phones-static"),
    ]
