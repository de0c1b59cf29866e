// The live board: renders /board.json data, then follows /board/events (server-sent events).
// Waiting times tick locally between pushes, from the server's figure at the time it was sent.
"use strict";
(function () {
  let data = JSON.parse(document.getElementById("initial").textContent);
  let received = performance.now();

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
    return m ? `${m}:${String(s % 60).padStart(2, "0")}` : `${s}s`;
  };
  const STATUS = { waiting: "waiting", acknowledged: "on the way", greeted: "being helped" };
  const PRESENCE = { on_shift: "on shift", break: "on break", off: "off", offline: "offline" };

  function waited(call) {
    return call.waited_s + (performance.now() - received) / 1000;
  }

  function renderCalls() {
    const list = $("calls");
    list.replaceChildren();
    const target = data.store.target_greet_s;
    for (const c of data.calls) {
      const w = waited(c);
      const li = el("li", "call");
      li.dataset.id = c.id;
      if (c.status !== "greeted" && w > target) li.classList.add("late");
      li.append(el("span", "where", `${c.label} · ${c.zone}${c.reason ? " · " + c.reason : ""}`));
      const wait = el("span", "wait", fmt(w));
      wait.dataset.role = "wait";
      li.append(wait);
      let who = STATUS[c.status] || c.status;
      if (c.staff_name && c.status !== "waiting") who = `${c.staff_name} ${who}`;
      else if (c.status === "waiting" && c.staff_name) who = `paging ${c.staff_name}`;
      if (c.eta_s && c.status !== "greeted") who += ` · about ${fmt(c.eta_s)}`;
      if (c.nobody_on_shift) who += " · nobody on shift!";
      li.append(el("span", "who", who));
      li.append(el("span", "tier", c.tier >= 3 ? "escalated to everyone" : c.repeat_presses ? `pressed again ×${c.repeat_presses}` : ""));
      list.append(li);
    }
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
      li.classList.toggle("late", c.status !== "greeted" && w > target);
    }
  }

  function renderToday() {
    const t = data.today || {};
    const share = t.greeted ? Math.round((100 * (t.greeted_within_target || 0)) / Math.max(1, t.greeted)) + "%" : "—";
    const rows = [
      ["Calls", t.calls ?? 0],
      ["Open", t.open ?? 0],
      ["Median greeting", fmt(t.median_greet_s)],
      ["Median acknowledge", fmt(t.median_ack_s)],
      ["Greeted within promise", share],
      ["Gave up", t.cancelled ?? 0],
      ["Unattended", t.unattended ?? 0],
      ["Feedback", t.feedback_avg ? `${t.feedback_avg.toFixed(1)} (${t.feedback_count})` : "—"],
    ];
    const dl = $("today");
    dl.replaceChildren();
    for (const [k, v] of rows) {
      dl.append(el("dt", "", k));
      const dd = el("dd", "", String(v));
      dd.dataset.key = k;
      dl.append(dd);
    }
  }

  function renderStaff() {
    const list = $("staff");
    list.replaceChildren();
    const order = { on_shift: 0, break: 1, off: 2, offline: 3 };
    const staff = [...data.staff].sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name));
    for (const s of staff) {
      const li = el("li");
      li.append(el("span", "", s.name + (s.role ? ` (${s.role})` : "")));
      li.append(el("span", `badge ${s.status}`, PRESENCE[s.status] || s.status));
      list.append(li);
    }
    const devs = $("devices");
    devs.replaceChildren();
    for (const d of data.devices_offline) {
      const li = el("li");
      li.append(el("span", "", `${d.label} · ${d.zone}`));
      li.append(el("span", "badge offline", "offline"));
      devs.append(li);
    }
    if (!data.devices_offline.length) devs.append(el("li", "empty", "All devices online."));
    const hub = $("hub");
    hub.textContent = data.hub === "offline" ? "hub offline!" : data.hub === "online" ? "hub online" : "hub ?";
    hub.className = "hub " + (data.hub || "");
    const health = data.hub_health || { status: "ok" };
    const banner = $("health");
    banner.hidden = health.status === "ok";
    banner.className = "health " + health.status;
    banner.textContent = health.status === "fault"
      ? `The hub cannot save calls: ${health.problem}. Calls are still paged.`
      : health.status === "warning" ? `The hub's disk: ${health.problem}.` : "";
  }

  function render() {
    renderCalls();
    renderToday();
    renderStaff();
    document.body.dataset.version = data.version;
  }

  render();
  setInterval(tick, 1000);

  const conn = $("conn");
  const source = new EventSource("/board/events");
  source.onopen = () => { conn.textContent = "live"; conn.className = "conn live"; };
  source.onerror = () => { conn.textContent = "reconnecting…"; conn.className = "conn lost"; };
  source.onmessage = (ev) => {
    data = JSON.parse(ev.data);
    received = performance.now();
    render();
  };
})();
