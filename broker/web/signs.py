"""Printed QR signs: one A6 page per QR device, with the store's name, the label, a big code and one line.

segno makes the QR code (pure Python, well kept, exact error-correction control) and
fpdf2 lays out the PDF (pure Python, embeds Unicode TTF fonts so "Färg, gång 7"
prints right).  Error correction "Q" keeps a scuffed or partly covered sign readable.

Example::

    write_signs(cfg, "signs.pdf")   # -> number of signs
"""

from __future__ import annotations

import io
from pathlib import Path

from broker.contract.config import Config, ConfigError
from broker.web.customer import texts
from broker.web.keys import qr_key
from broker.web.server import require_secret

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
]


def sign_url(cfg: Config, device: str) -> str:
    if not cfg.web.public_url:
        raise ConfigError(
            '[web] public_url is missing: set how phones reach this server, e.g. public_url = "http://192.168.1.10:8080"'
        )
    return f"{cfg.web.public_url.rstrip('/')}/c/{device}?k={qr_key(require_secret(cfg), device)}"


def _font(pdf) -> str:
    regular, bold = (Path(p) for p in FONT_CANDIDATES)
    if regular.exists():
        pdf.add_font("sign", "", str(regular))
        pdf.add_font("sign", "B", str(bold if bold.exists() else regular))
        return "sign"
    return "helvetica"  # latin-1 only: install fonts-dejavu-core for å ä ö


def write_signs(cfg: Config, out: str | Path) -> int:
    import segno
    from fpdf import FPDF

    devices = [d for d in cfg.devices if d.kind == "qr"]
    if not devices:
        raise ConfigError('no [[devices]] with kind = "qr": add one, e.g. id = "qr-paint", zone = "paint", label = ...')
    t = texts(cfg.store.language)
    pdf = FPDF(orientation="P", unit="mm", format=(105, 148))  # A6
    pdf.set_auto_page_break(False)
    family = _font(pdf)
    for dev in devices:
        pdf.add_page()
        pdf.set_font(family, "B", 18)
        pdf.set_xy(8, 10)
        pdf.multi_cell(89, 8, cfg.store.name, align="C")
        pdf.set_font(family, "", 13)
        pdf.set_x(8)
        pdf.multi_cell(89, 6, dev.label or dev.id, align="C")
        png = io.BytesIO()
        segno.make(sign_url(cfg, dev.id), error="q").save(png, kind="png", scale=10, border=2)
        png.seek(0)
        pdf.image(png, x=17.5, y=40, w=70, h=70)
        pdf.set_font(family, "B", 14)
        pdf.set_xy(8, 114)
        pdf.multi_cell(89, 7, t("qr_sign_line"), align="C")
        pdf.set_font(family, "", 7)
        pdf.set_xy(8, 140)
        pdf.cell(89, 4, dev.id, align="C")
    pdf.output(str(out))
    return len(devices)
