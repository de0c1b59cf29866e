// The chain board: draw the view, then redraw after every push (server-sent events; EventSource reconnects).
"use strict";
(function () {
  const T = JSON.parse(document.getElementById("texts").textContent);
  const regions = document.getElementById("regions");
  const conn = document.getElementById("conn");
  const fmt = (text, vals) => text.replace(/\{(\w+)\}/g, (m, k) => (k in vals ? vals[k] : m));
  const secs = (s) => {
    if (s === null || s === undefined) return "—";
    if (s < 90) return Math.round(s) + "s";
    const m = Math.floor(Math.round(s) / 60), r = Math.round(s) % 60;
    return m + "m" + String(r).padStart(2, "0") + "s";
  };
  const share = (x) => (x === null || x === undefined ? "—" : Math.round(x * 100) + "%");
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function figure(dl, label, value, cls) {
    dl.append(el("dt", "", label), el("dd", cls, value));
  }

  function draw(view) {
    document.getElementById("summary").textContent = fmt(T.chain_board_summary, {
      stores: view.stores, offline: view.offline, open: view.open_calls,
    });
    document.getElementById("none").hidden = view.stores > 0;
    const out = [];
    for (const region of view.regions) {
      const sec = el("section", "region");
      sec.append(el("h2", "", region.region || "—"));
      const ul = el("ul", "stores");
      for (const s of region.stores) {
        const li = el("li", "store" + (s.offline ? " offline" : s.longest_wait_s > 120 ? " late" : ""));
        li.dataset.store = s.store;
        const h = el("h3", "", "");
        h.append(el("span", "name", s.name));
        h.append(el("span", s.offline ? "badge" : "state", s.offline ? T.chain_board_offline : ""));
        li.append(h);
        const dl = el("dl");
        figure(dl, T.chain_board_open, String(s.open_calls), "open");
        figure(dl, T.chain_board_longest, secs(s.longest_wait_s), "longest");
        figure(dl, T.chain_board_promise, share(s.promise_share_today), "promise");
        figure(dl, T.chain_board_devices, s.devices_online + "/" + s.devices_total, "devices");
        li.append(dl);
        if (s.offline) li.append(el("p", "silent", fmt(T.chain_board_last_seen, { s: secs(s.silent_s) })));
        ul.append(li);
      }
      sec.append(ul);
      out.push(sec);
    }
    regions.replaceChildren(...out);
  }

  draw(JSON.parse(document.getElementById("initial").textContent));
  const source = new EventSource("/board/events");
  source.onopen = () => { conn.textContent = T.chain_board_live; conn.classList.add("live"); };
  source.onerror = () => { conn.textContent = T.chain_board_reconnecting; conn.classList.remove("live"); };
  source.onmessage = (e) => draw(JSON.parse(e.data));
})();
