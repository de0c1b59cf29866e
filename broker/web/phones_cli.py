"""``staffcall qr`` (printed QR signs) and ``staffcall web`` (board + QR pages + staff app on one server)."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    from broker.cli import add_config

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


def run_qr(args: argparse.Namespace) -> int:
    from broker.contract.config import load_config
    from broker.web.signs import write_signs

    cfg = load_config(args.config)
    n = write_signs(cfg, args.out)
    print(f"wrote {n} sign{'s' if n != 1 else ''} to {args.out}")
    return 0


def run_web(args: argparse.Namespace) -> int:
    from broker.web.cli import serve, today_figures, web_config
    from broker.web.serve import build_app

    cfg = web_config(args)
    app, parts = build_app(cfg, today=today_figures(cfg))
    return serve(app, cfg, "web server (/board, /c/..., /staff)", parts.stop)
