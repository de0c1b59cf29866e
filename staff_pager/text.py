"""The terminal pager: pages as lines of text, one-letter commands on stdin.

For headless devices (a Pi with a speaker and a keypad, an SSH session) and for
trying the system.  Commands: ``a`` on my way, ``g`` greeted, ``r`` resolved,
``p`` pass; each acts on the page that is alerting (or my newest call), or on the
call numbered by ``l`` (``a 2``).  ``on`` / ``break`` / ``off`` set presence,
``m`` shows my shift, ``q`` quits.

Example::

    staffcall pager --text --staff anna --on-shift
"""

from __future__ import annotations

import sys
import threading
from typing import IO, Any

from broker.callpoint.pager import mmss
from broker.contract.config import Config
from staff_pager.link import PRESENCES, PagerLink
from staff_pager.texts import catalog, headline, reason_text, shift_lines, status_line

LETTERS = {"a": "ack", "g": "greet", "r": "resolve", "p": "decline", "d": "dismiss"}


class TextPager:
    def __init__(self, cfg: Config, staff: str, lang: str | None = None, out: IO[str] = sys.stdout) -> None:
        self.cfg = cfg
        self.cat = catalog(lang or cfg.store.language)
        self.out = out
        self._print_lock = threading.Lock()
        self._statuses: dict[str, str] = {}
        self._listed: list[str] = []
        self._asking: str | None = None
        self._quitting = False
        """Set before the link is stopped: the disconnect that follows is ours, not a lost connection."""
        """A call whose Resolved waits for an outcome (``[pager] outcomes``): the next line picks it."""
        self.link = PagerLink(cfg, staff, on_change=self._changed, state_dir=cfg.pager.state_dir)

    def say(self, line: str) -> None:
        with self._print_lock:
            self.out.write(line + "\n")
            self.out.flush()

    # --- hub -> screen (network thread) ----------------------------------------------------

    def _changed(self, what: str, detail: Any) -> None:
        link = self.link
        if what == "connection":
            if self._quitting:
                return
            self.say(f"[{self.cat.t('connected') if detail else self.cat.t('disconnected')}]")
        elif what == "page":
            with link.lock:
                now = link.clock()
                alert = link.core.alerting(now)
                if alert is None or alert.page is None:
                    return
                pg, waited = alert.page, link.core.waited(alert.id, now)
            where = pg.label or pg.device
            extra = f'  "{pg.customer_text}"' if pg.customer_text else ""
            self.say(
                f"\a{self.cat.t('text_page')} [{self.cat.t('tier', tier=pg.tier)}] {headline(self.cat, pg.kind)}: "
                f"{where} ({pg.zone}) {reason_text(self.cat, pg.reason)}, {self.cat.t('waited', time=mmss(waited))}"
                f"{extra}  id={pg.id}  -> a/g/r/p"
            )
        elif what == "state":
            with link.lock:
                rows = {r.id: r for r in link.core.open_calls(link.clock())}
                closed = link.core.state_of(detail)
            row = rows.get(detail)
            status = row.status if row else (closed.status if closed else "closed")
            if self._statuses.get(detail) == status + str(row.staff if row else ""):
                return
            self._statuses[detail] = status + str(row.staff if row else "")
            text = status_line(self.cat, row) if row else status
            self.say(f"  {detail}: {text}")
        elif what == "shift":
            pass  # shown on request ('m'): the terminal stays quiet

    # --- keyboard -> hub (main thread) -------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run one command line; False means quit."""
        if self._asking is not None:
            self._answer_outcome(line.strip())
            return True
        words = line.strip().split()
        if not words:
            return True
        cmd, arg = words[0].lower(), words[1] if len(words) > 1 else None
        link = self.link
        if cmd in ("q", "quit", "exit"):
            return False
        if cmd in ("h", "?", "help"):
            self.say(self.cat.t("text_help"))
        elif cmd in PRESENCES or cmd in ("on", "b", "o"):
            status = {"on": "on_shift", "b": "break", "o": "off"}.get(cmd, cmd)
            link.set_presence(status)
            self.say(f"[{self.cat.t(status)}]")
        elif cmd == "l":
            self._list()
        elif cmd == "m":
            with link.lock:
                figures = link.core.shift
            for text in shift_lines(self.cat, figures, self.cfg.store.target_greet_s):
                self.say(f"  {text}")
        elif cmd in LETTERS:
            self._act(LETTERS[cmd], arg)
        else:
            self.say(self.cat.t("text_help"))
        return True

    def _list(self) -> None:
        with self.link.lock:
            rows = self.link.core.open_calls(self.link.clock())
        self._listed = [r.id for r in rows]
        if not rows:
            self.say(f"  {self.cat.t('no_calls')}")
        for n, r in enumerate(rows, 1):
            pend = f" ({self.cat.t('sending')})" if r.pending else ""
            self.say(f"  {n}. {r.where} ({r.zone}) {mmss(r.waited_s)} {status_line(self.cat, r)}{pend}  id={r.id}")

    def _act(self, action: str, arg: str | None) -> None:
        link = self.link
        with link.lock:
            if arg is None:
                call_id = link.core.focus(link.clock())
            elif arg.isdigit() and 0 < int(arg) <= len(self._listed):
                call_id = self._listed[int(arg) - 1]
            else:
                call_id = arg
        if call_id is None:
            self.say(f"  {self.cat.t('text_nothing')}")
            return
        if action == "resolve" and self.cfg.pager.outcomes:
            with link.lock:
                possible = "resolve" in link.core.allowed(call_id)
            if possible:
                self._asking = call_id
                choices = "  ".join(f"{n}={o}" for n, o in enumerate(self.cfg.pager.outcomes, 1))
                self.say(f"  {self.cat.t('outcome_prompt', choices=choices)}")
                return
        self._send(action, call_id)

    def _answer_outcome(self, answer: str) -> None:
        outcomes = self.cfg.pager.outcomes
        if answer and not (answer.isdigit() and 1 <= int(answer) <= len(outcomes)):
            self.say(f"  {self.cat.t('outcome_bad', n=len(outcomes))}")
            return
        call_id, self._asking = self._asking, None
        self._send("resolve", call_id, outcomes[int(answer) - 1] if answer else None)

    def _send(self, action: str, call_id: str, outcome: str | None = None) -> None:
        link = self.link
        try:
            link.act(action, call_id, outcome=outcome)
        except ValueError as exc:
            self.say(f"  {self.cat.t('text_bad', why=exc)}")
            return
        self.say(f"  {self.cat.t('text_sent', action=self.cat.t(action), where=call_id)}")

    def run(self, stdin: IO[str] = sys.stdin, presence: str | None = None) -> int:
        self.link.start()
        if presence:
            self.link.set_presence(presence)
        self.say(self.cat.t("text_help"))
        try:
            for line in stdin:
                if not self.command(line):
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self._quitting = True
            self.link.stop()
        return 0
