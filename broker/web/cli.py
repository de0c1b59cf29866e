"""``staffcall board``, ``staffcall web`` and ``staffcall qr``: the hub machine's one web server and its QR signs.

``board`` serves the live store board alone; ``web`` the board, the customers' QR pages and the
staff app on one server; ``qr`` prints the signs whose codes open those QR pages.

Example::

    staffcall board --config staffcall.toml
    staffcall web --config staffcall.toml
    staffcall qr --config staffcall.toml --out signs.pdf
"""

from __future__ import annotations

import argparse
import logging
import os

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    from broker.contract.config import add_config

    board = sub.add_parser(
        "board",
        help="serve the live store board (web page, read-only)",
        description="Serve the live board: open calls with their waiting time, who is on the way, staff on shift, "
        "devices offline and today's figures, updated live from the hub's MQTT messages. Listens on [web] host/port "
        "(loopback by default); a host other than loopback needs [web] password.\n\n"
        "Example: staffcall board --config staffcall.toml   (then open http://127.0.0.1:8080/board)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(board)
    board.add_argument("--host", help="override [web] host")
    board.add_argument("--port", type=int, help="override [web] port")
    board.set_defaults(func=run_board)

    qr = sub.add_parser(
        "qr",
        help="print the QR call signs (PDF, one A6 page per QR device)",
        description='Write one A6 sign per [[devices]] entry of kind "qr": the store\'s name, the label, a big QR code '
        "and a short line in the store's language. The code opens /c/{device}?k=... on [web] public_url; k is an HMAC "
        "with [web] qr_secret, so only printed signs work.\n\n"
        "Example: staffcall qr --config staffcall.toml --out signs.pdf",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(qr)
    qr.add_argument("--out", default="signs.pdf", help="the PDF to write (default signs.pdf)")
    qr.set_defaults(func=run_qr)

    web = sub.add_parser(
        "web",
        help="serve the board, the customers' QR pages and the staff web app",
        description="The hub machine's one web server: the live board (/board), the customers' QR call pages "
        "(/c/{device}) and the staff app (/staff). Needs [web] qr_secret. With [web] password the board asks for it; "
        "the phones' pages carry their own keys.\n\n"
        "Example: staffcall web --config staffcall.toml   (then open http://127.0.0.1:8080/staff)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(web)
    web.add_argument("--host", help="override [web] host")
    web.add_argument("--port", type=int, help="override [web] port")
    web.set_defaults(func=run_web)


def today_figures(cfg):
    """Today's figures from the event log, for when the hub's retained summary is not there yet."""
    from broker.reports.metrics import open_metrics, period

    if not os.path.exists(cfg.database.path):
        return lambda: {}
    import time

    def compute() -> dict:
        # No index building here: a page view must not lock the hub's log for seconds.
        m = open_metrics(cfg.database.path, cfg.store.timezone, cfg.store.target_greet_s, create_indexes=False)
        try:
            now = time.time()
            f = m.figures(period("today", cfg.store.timezone, now), now)
        finally:
            m.conn.close()
        return {
            "calls": f.calls,
            "open": f.open,
            "greeted": f.greeted,
            "greeted_within_target": f.within_target,
            "median_ack_s": f.ack_median,
            "median_greet_s": f.greet_median,
            "cancelled": f.cancelled,
            "unattended": f.unattended,
            "feedback_avg": f.feedback_avg,
            "feedback_count": f.feedback_count,
            "p90_greet_s": f.greet_p90,
            "promised": f.promised,
            "promises_kept": f.promises_kept,
            "source": "event log",
        }

    return compute


def web_config(args: argparse.Namespace):
    """The config with ``--host``/``--port`` applied, refused when exposed without a password."""
    from broker.contract.config import load_config
    from broker.web.app import check_exposure

    cfg = load_config(args.config)
    if args.host:
        cfg.web.host = args.host
    if args.port:
        cfg.web.port = args.port
    check_exposure(cfg)
    return cfg


def serve(app, cfg, what: str, stop) -> int:
    """Run ``app`` with uvicorn until Ctrl-C / SIGTERM, then ``stop()`` its MQTT parts."""
    import uvicorn

    log.info("%s on http://%s:%s", what, cfg.web.host, cfg.web.port)
    try:
        uvicorn.run(app, host=cfg.web.host, port=cfg.web.port, log_level="info")
    finally:
        stop()
    return 0


def run_board(args: argparse.Namespace) -> int:
    from broker.web.app import create_app
    from broker.web.live import LiveFeed, LiveState
    from broker.web.prometheus import start_metrics

    cfg = web_config(args)
    live = LiveState(cfg.store.id)
    feed = LiveFeed(cfg, live).start()
    metrics, metrics_feed = start_metrics(cfg, live, {"board": feed.client.is_connected})
    app = create_app(cfg, live, today=today_figures(cfg), metrics=metrics)

    def stop() -> None:
        feed.stop()
        if metrics_feed is not None:
            metrics_feed.stop()

    return serve(app, cfg, "board (/board)", stop)


def run_qr(args: argparse.Namespace) -> int:
    from broker.contract.config import load_config
    from broker.web.signs import write_signs

    cfg = load_config(args.config)
    n = write_signs(cfg, args.out)
    print(f"wrote {n} sign{'s' if n != 1 else ''} to {args.out}")
    return 0


def run_web(args: argparse.Namespace) -> int:
    from broker.web.serve import build_app

    cfg = web_config(args)
    app, parts = build_app(cfg, today=today_figures(cfg))
    return serve(app, cfg, "web server (/board, /c/..., /staff)", parts.stop)
