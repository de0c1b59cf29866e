// The live board: renders /board.json data, then follows /board/events (server-sent events).
// Waiting times tick locally between pushes, from the server's figure at the time it was sent.
// Every word comes from the catalogs the page carries (#texts); ?tv=1 adds the wall screen's care:
// it reconnects by itself (a reload when the stream stays down) and dims at night in the store's timezone.
"use strict";
(function () {
  let data = JSON.parse(document.getElementById("initial").textContent);
  const page = JSON.parse(document.getElementById("texts").textContent);
  let received = performance.now();

  const t = (key, values) => {
    let text = page.t[key] || key;
    for (const [k, v] of Object.entries(values || {})) text = text.split(`{${k}}`).join(String(v));
    return text;
  };
  const reason = (key) => page.t[`reason.${key}`] || key;
  const zone = (id) => page.zones[id] || id || "";
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = (s) => {
    if (s === null || s === undefined) return "—";
    s = Math.max(0, Math.floor(s));
    const m = Math.floor(s / 60);
    return m ? `${m}:${String(s % 60).padStart(2, "0")}` : t("board_seconds", { s });
  };

  function waited(call) {
    return call.waited_s + (performance.now() - received) / 1000;
  }

  function whoLine(c) {
    const name = c.staff_name;
    let who;
    if (c.status === "waiting") who = name ? t("board_paging", { name }) : t("board_finding");
    else if (c.status === "acknowledged") who = name ? t("board_on_the_way", { name }) : t("board_on_the_way_anon");
    else if (c.status === "greeted") who = name ? t("board_helping", { name }) : t("board_helping_anon");
    else who = c.status;
    if (c.eta_s && c.status !== "greeted") who += ` · ${t("board_about", { time: fmt(c.eta_s) })}`;
    return who;
  }

  function setLate(li, late) {
    li.classList.toggle("late", late);
    li.querySelector(".late-badge").hidden = !late;
  }

  function renderCalls() {
    const list = $("calls");
    list.replaceChildren();
    const target = data.store.target_greet_s;
    data.calls.forEach((c, i) => {
      const w = waited(c);
      const li = el("li", i === 0 ? "call longest" : "call");
      li.dataset.id = c.id;
      const where = el("span", "where");
      where.append(el("span", "place", c.label));
      where.append(el("span", "zone", [zone(c.zone), c.reason ? reason(c.reason) : ""].filter(Boolean).join(" · ")));
      li.append(where);
      const wait = el("span", "wait", fmt(w));
      wait.dataset.role = "wait";
      li.append(wait);
      li.append(el("span", "who", whoLine(c)));
      const marks = el("span", "marks");
      const late = el("span", "mark late-badge", `⚠ ${t("board_late")}`);
      marks.append(late);
      if (c.tier >= 3) marks.append(el("span", "mark escalated", t("board_escalated")));
      if (c.nobody_on_shift) marks.append(el("span", "mark nobody", t("board_nobody_on_shift")));
      if (c.repeat_presses) marks.append(el("span", "mark again", t("board_pressed_again", { n: c.repeat_presses })));
      li.append(marks);
      setLate(li, c.status !== "greeted" && w > target);
      list.append(li);
    });
    $("calls-count").textContent = data.calls.length;
    $("no-calls").hidden = data.calls.length > 0;
  }

  function tick() {
    const target = data.store.target_greet_s;
    for (const li of document.querySelectorAll("#calls .call")) {
      const c = data.calls.find((x) => x.id === li.dataset.id);
      if (!c) continue;
      const w = waited(c);
      li.querySelector("[data-role=wait]").textContent = fmt(w);
      setLate(li, c.status !== "greeted" && w > target);
    }
  }

  function renderToday() {
    const d = data.today || {};
    const share = d.greeted ? Math.round((100 * (d.greeted_within_target || 0)) / Math.max(1, d.greeted)) + "%" : "—";
    const rows = [
      ["board_fig_calls", d.calls ?? 0],
      ["board_fig_open", d.open ?? 0],
      ["board_fig_median_greet", fmt(d.median_greet_s)],
      ["board_fig_median_ack", fmt(d.median_ack_s)],
      ["board_fig_within", share],
      ["board_fig_promises_kept", d.promised ? Math.round((100 * (d.promises_kept || 0)) / d.promised) + "%" : "—"],
      ["board_fig_cancelled", d.cancelled ?? 0],
      ["board_fig_unattended", d.unattended ?? 0],
      ["board_fig_feedback", d.feedback_avg ? `${d.feedback_avg.toFixed(1)} (${d.feedback_count})` : "—"],
    ];
    const dl = $("today");
    dl.replaceChildren();
    for (const [k, v] of rows) {
      const row = el("div", "figure");
      row.append(el("dt", "", t(k)));
      const dd = el("dd", "", String(v));
      dd.dataset.key = k;
      row.append(dd);
      dl.append(row);
    }
  }

  function renderStaff() {
    const list = $("staff");
    list.replaceChildren();
    const order = { on_shift: 0, break: 1, offline: 2, off: 3 };
    const staff = [...data.staff].sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name));
    for (const s of staff) {
      const li = el("li");
      li.append(el("span", "", s.name + (s.role ? ` (${s.role})` : "")));
      const lost = s.status === "offline";
      li.append(el("span", `badge ${s.status}`, (lost ? "⚠ " : "") + t(`board_presence_${s.status}`)));
      list.append(li);
    }
    const devs = $("devices");
    devs.replaceChildren();
    for (const d of data.devices_offline) {
      const li = el("li");
      li.append(el("span", "", `${d.label} · ${zone(d.zone)}`));
      li.append(el("span", "badge offline", `⚠ ${t("board_lost_connection")}`));
      devs.append(li);
    }
    if (!data.devices_offline.length) devs.append(el("li", "empty", t("board_all_devices_online")));
    const hub = $("hub");
    hub.textContent = t(data.hub === "offline" ? "board_hub_offline" : data.hub === "online" ? "board_hub_online" : "board_hub_unknown");
    hub.className = "hub " + (data.hub || "");
    const health = data.hub_health || { status: "ok" };
    const banner = $("health");
    banner.hidden = health.status === "ok";
    banner.className = "health " + health.status;
    banner.textContent = health.status === "fault" ? t("board_health_fault", { problem: health.problem })
      : health.status === "warning" ? t("board_health_warning", { problem: health.problem }) : "";
  }

  function render() {
    renderCalls();
    renderToday();
    renderStaff();
    document.body.dataset.version = data.version;
  }

  // --- night: dim between the two local times of data-night, in the store's timezone ---------------
  function minutesNow(tz) {
    try {
      const parts = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
        .formatToParts(new Date());
      const get = (type) => Number(parts.find((p) => p.type === type).value);
      return get("hour") * 60 + get("minute");
    } catch (e) {
      const now = new Date();
      return now.getHours() * 60 + now.getMinutes();
    }
  }
  function dim() {
    const night = document.body.dataset.night;
    if (!page.tv || !night) return;
    const [from, until] = night.split("-").map((hm) => { const [h, m] = hm.split(":"); return Number(h) * 60 + Number(m); });
    const now = minutesNow(document.body.dataset.tz);
    const dark = from <= until ? now >= from && now < until : now >= from || now < until;
    document.body.classList.toggle("night", dark);
  }

  render();
  dim();
  setInterval(tick, 1000);
  setInterval(dim, 30000);

  // --- the live feed: EventSource retries by itself; a stream the server closed is opened again, and a
  // wall screen whose feed stays down reloads the page once the server answers again (new code, new state).
  const conn = $("conn");
  let lastLive = performance.now();
  let source = null;
  function follow() {
    source = new EventSource("/board/events");
    source.onopen = () => { conn.textContent = t("board_live"); conn.className = "conn live"; lastLive = performance.now(); };
    source.onerror = () => {
      conn.textContent = t("board_reconnecting");
      conn.className = "conn lost";
      if (source.readyState === EventSource.CLOSED) setTimeout(follow, 5000);
    };
    source.onmessage = (ev) => {
      data = JSON.parse(ev.data);
      received = performance.now();
      lastLive = received;
      render();
    };
  }
  follow();
  if (page.tv) {
    setInterval(() => {
      if (source.readyState === EventSource.OPEN) { lastLive = performance.now(); return; }
      if (performance.now() - lastLive < 60000) return;
      fetch(location.href, { method: "HEAD", cache: "no-store" })
        .then((r) => { if (r.ok) location.reload(); })
        .catch(() => {});
    }, 10000);
  }
})();
