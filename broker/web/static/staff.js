// The staff web app: sign in, presence, the full-screen page, my calls with their next step (On my way ->
// Greeted -> Resolved, with the store's outcomes), open calls with Take, my shift; live by SSE.
(() => {
  const D = JSON.parse(document.getElementById("staff-data").textContent);
  const $ = (id) => document.getElementById(id);
  const mmss = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
  // Texts from the server's catalogs (broker/web/locales, kiosk/locales), in the page's language.
  const t = (key, values) => (D.texts[key] || key).replace(/\{(\w+)\}/g, (_, k) => (values || {})[k] ?? "");
  const reasonText = (r) => D.texts[`reason.${r}`] || r;
  const statusText = (s) => D.texts[`staff_status_${s}`] || s;
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/staff/sw.js", { scope: "/staff" }).catch(() => {});

  function banner(text, bad) { const b = $("banner"); b.textContent = text || ""; b.hidden = !text; b.classList.toggle("bad", !!bad); }

  // Errors carry the server's message from the catalogs; a request that got no answer says so in our words.
  async function api(what, body) {
    let r;
    try {
      r = await fetch(`/staff/api/${what}`, {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
        body: JSON.stringify(body || {}),
      });
    } catch { throw new Error(t("staff_error_network")); }
    const data = await r.json().catch(() => ({}));
    if (r.status === 401 && what !== "login") location.reload();
    if (!r.ok) throw new Error(data.message || t("staff_error_network"));
    return data;
  }

  if (!D.staff) {
    // "PIN for Ben": whose PIN is asked stays on screen, and a wrong PIN shows below the box, not instead of it.
    const who = $("who");
    const pinFor = () => { $("pin-label").textContent = t("staff_pin_for", { name: who.selectedOptions[0]?.textContent || "" }); };
    who.addEventListener("change", () => { pinFor(); $("login-error").textContent = ""; });
    pinFor();
    $("pin").setAttribute("aria-describedby", "login-error");
    // The PIN box above a phone's on-screen keyboard.
    $("pin").addEventListener("focus", () => setTimeout(() => $("pin").scrollIntoView({ block: "center" }), 300));
    $("login").addEventListener("submit", async (e) => {
      e.preventDefault();
      try { await api("login", { staff: who.value, pin: $("pin").value }); location.reload(); }
      catch (err) { $("login-error").textContent = err.message; $("pin").select(); $("pin").focus(); }
    });
    return;
  }

  // --- sound, vibration, screen awake -------------------------------------------------------
  let audio = null;
  const unlockAudio = () => { if (!audio) { try { audio = new AudioContext(); } catch { audio = null; } } if (audio && audio.state === "suspended") audio.resume(); };
  document.addEventListener("pointerdown", unlockAudio);
  function ring(tier) {
    if (navigator.vibrate) navigator.vibrate(tier >= 3 ? [600, 150, 600, 150, 600] : [300, 100, 300]);
    if (!audio) return;
    const t0 = audio.currentTime;
    for (let i = 0; i < 3; i++) {
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = i % 2 ? 660 : 880; o.connect(g); g.connect(audio.destination);
      g.gain.setValueAtTime(0.3, t0 + i * 0.25); g.gain.setValueAtTime(0, t0 + i * 0.25 + 0.18);
      o.start(t0 + i * 0.25); o.stop(t0 + i * 0.25 + 0.2);
    }
  }
  let wakeLock = null;
  async function keepAwake(on) {
    try {
      if (on && !wakeLock && "wakeLock" in navigator) { wakeLock = await navigator.wakeLock.request("screen"); wakeLock.addEventListener("release", () => { wakeLock = null; }); }
      if (!on && wakeLock) { await wakeLock.release(); wakeLock = null; }
    } catch { /* not allowed now (tab hidden, battery saver): try again on the next view */ }
  }

  // --- focus: lists rebuilt on every view keep the keyboard where it was; the page is a modal dialog --
  const FOCUSABLE = "button:not(:disabled), a[href], select, input, textarea, [tabindex]:not([tabindex='-1'])";
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  function focusIn(box) {
    const el = [...box.querySelectorAll(FOCUSABLE)].find(visible);
    if (el) el.focus();
  }
  function keepFocus(container, rebuild) {
    const was = document.activeElement;
    const li = container.contains(was) ? was.closest("li, [data-outcomes-for]") : null;
    const key = li && (li.dataset.call || li.dataset.radio || li.dataset.outcomesFor);
    const same = was && was.dataset ? Object.entries(was.dataset).map(([k, v]) => `[data-${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}="${CSS.escape(v)}"]`).join("") : "";
    rebuild();
    if (!li) return;
    const now = [...container.querySelectorAll("li, [data-outcomes-for]")].find((x) => (x.dataset.call || x.dataset.radio || x.dataset.outcomesFor) === key);
    const target = now && ((same && now.querySelector(same)) || now.querySelector(FOCUSABLE));
    if (target) target.focus(); else focusIn(container.closest("section, main, .alert") || document.body);
  }
  let before = null;  // what had the focus when the page came
  function dialog(a) {
    const box = $("alert"), open = !box.hidden;
    if (a && !open) before = document.activeElement;
    box.hidden = !a;
    for (const el of [document.querySelector("header"), document.querySelector("main")]) el.inert = !!a;
    if (!a && open) {
      const next = lastAlert && document.querySelector(`#my-calls li[data-call="${CSS.escape(lastAlert)}"] button`);
      const back = next || (before && document.contains(before) && before) || document.querySelector("[data-status]");
      back.focus();
    }
  }
  // Tab and Shift+Tab go round inside the page while it shows (inert does the rest).
  $("alert").addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const all = [...$("alert").querySelectorAll(FOCUSABLE)].filter(visible);
    if (!all.length) return;
    const i = all.indexOf(document.activeElement);
    if (e.shiftKey && i <= 0) { e.preventDefault(); all[all.length - 1].focus(); }
    else if (!e.shiftKey && i === all.length - 1) { e.preventDefault(); all[0].focus(); }
  });

  // --- rendering -------------------------------------------------------------------------------
  let view = null, got = 0, lastRing = null, lastAlert = null;
  let picking = null;  // the call whose outcome is on screen (Resolved was tapped and the store has outcomes)
  const waited = (s, ticking) => s + (ticking ? (performance.now() - got) / 1000 : 0);
  // An action's answer may arrive after a newer push (the hub's state came first): keep the newer view.
  function accept(v, pushed) {
    if (!pushed && view && v.version < view.version) return;
    view = v; got = performance.now(); render();
  }

  function render() {
    if (!view) return;
    $("me").textContent = view.name;
    for (const b of document.querySelectorAll("[data-status]")) {
      b.classList.toggle("on", b.dataset.status === view.presence);
      b.setAttribute("aria-pressed", String(b.dataset.status === view.presence));
    }
    // Not paged until they choose: say so, and offer On shift as the big button.
    const unset = !["on_shift", "break", "off"].includes(view.presence);
    $("presence-hint").hidden = !unset; $("presence").classList.toggle("unset", unset);
    keepAwake(view.presence === "on_shift" && document.visibilityState === "visible");
    const ul = $("calls");
    keepFocus(ul, () => ul.replaceChildren(...view.calls.map((c) => {
      const li = document.createElement("li");
      li.dataset.call = c.id;
      const top = document.createElement("div"); top.textContent = `${c.where} · ${c.zone_name}`;
      const sub = document.createElement("div"); sub.className = "muted";
      sub.textContent = `${c.reason ? reasonText(c.reason) + " · " : ""}${statusText(c.status)}${c.staff_name ? " - " + c.staff_name : ""}`;
      const w = document.createElement("span"); w.className = "wait"; w.dataset.s = c.waited_s; w.dataset.ticking = c.ticking;
      w.textContent = mmss(waited(c.waited_s, c.ticking));
      top.append(" ", w);
      li.append(top);
      if (c.allowed.includes("ack") && !c.mine) {
        const b = document.createElement("button"); b.textContent = t("staff_take"); b.dataset.take = c.id;
        b.addEventListener("click", () => act("ack", c.id)); li.append(b);
      }
      li.append(sub);
      li.classList.toggle("late", c.ticking && c.waited_s > 60);
      return li;
    })));
    $("no-calls").hidden = view.calls.length > 0;
    renderMine(view.my_calls || []);
    if (view.radio_pagers && $("radio-list")) renderRadio(view.radio_pagers);
    const sh = view.shift || {};
    $("shift").replaceChildren(...[[t("staff_calls"), sh.calls ?? 0], [t("staff_greeted"), sh.greeted ?? 0], [t("staff_median"), view.shift_median]].map(([k, v]) => {
      const d = document.createElement("div"); const b = document.createElement("b"); b.textContent = v; d.append(b, k); return d;
    }));
    const a = view.alert;
    dialog(a);
    document.body.dataset.alert = a ? a.id : "";
    if (a) {
      $("alert").className = `alert tier-${Math.min(a.tier, 3)}`;
      $("a-kind").textContent = a.kind === "call" ? t("staff_customer_needs_help") : t(`staff_kind_${a.kind}`);
      $("a-where").textContent = a.label;
      $("a-zone").textContent = t("staff_zone", { zone: a.zone_name });
      $("a-reason").textContent = a.reason ? reasonText(a.reason) : "";
      $("a-text").hidden = !a.customer_text; $("a-text").textContent = a.customer_text || "";  // plain text, never HTML
      $("a-tier").textContent = t(`staff_tier_${Math.max(1, Math.min(a.tier, 3))}`);
      for (const b of document.querySelectorAll("[data-act]")) b.disabled = !a.allowed.includes(b.dataset.act);
      const picked = picking === a.id;
      $("a-actions").hidden = picked; $("a-outcomes").hidden = !picked;
      if (picked) keepFocus($("a-outcomes"), () => $("a-outcomes").replaceChildren(outcomeBox(a.id)));
      if (view.ring !== lastRing || a.id !== lastAlert) ring(a.tier);
      if (a.id !== lastAlert || !$("alert").contains(document.activeElement)) focusIn($("alert"));
    }
    lastRing = view.ring; lastAlert = a ? a.id : null;
    tick();
  }
  // My calls: each keeps one big button, its next step; a step on its way shows "Sending" until the hub has it.
  function renderMine(mine) {
    $("mine").hidden = mine.length === 0;
    const open = mine.some((c) => c.id === picking) || (view.alert && view.alert.id === picking);
    if (!open) picking = null;  // resolved or closed meanwhile: nothing left to pick an outcome for
    keepFocus($("my-calls"), () => $("my-calls").replaceChildren(...mine.map((c) => {
      const li = document.createElement("li"); li.dataset.call = c.id;
      const top = document.createElement("div"); top.className = "where"; top.textContent = `${c.where} · ${c.zone_name}`;
      const w = document.createElement("span"); w.className = "wait"; w.dataset.s = c.waited_s; w.dataset.ticking = c.ticking;
      w.textContent = mmss(waited(c.waited_s, c.ticking));
      top.append(" ", w);
      const sub = document.createElement("div"); sub.className = "muted";
      sub.textContent = `${c.reason ? reasonText(c.reason) + " · " : ""}${statusText(c.status)}`;
      li.append(top, sub);
      if (picking === c.id) { li.append(outcomeBox(c.id)); return li; }
      // "Sending" keeps the focus (aria-disabled, not disabled): a keyboard user stays on the call's next step.
      const b = document.createElement("button"); b.className = "next"; b.dataset.next = c.next || "";
      b.setAttribute("aria-disabled", String(!c.next)); b.textContent = c.next ? t(`staff_${c.next}`) : t("staff_sending");
      b.addEventListener("click", () => step(c.next, c.id));
      li.append(b);
      return li;
    })));
  }
  function step(action, id) {
    if (!action) return;
    if (action === "resolve" && view.outcomes.length) { picking = id; render(); return; }
    act(action, id);
  }
  // The store's outcomes, as the pager app offers them: a title, one button each, and Skip.
  function outcomeBox(id) {
    const box = document.createElement("div"); box.className = "outcomes"; box.dataset.outcomesFor = id;
    const title = document.createElement("div"); title.className = "outcome-title"; title.textContent = t("staff_outcome_title");
    box.append(title, ...[...view.outcomes, null].map((o) => {
      const ob = document.createElement("button"); ob.textContent = o || t("staff_no_outcome"); ob.dataset.outcome = o || "";
      ob.addEventListener("click", () => { picking = null; act("resolve", id, o); }); return ob;
    }));
    return box;
  }
  // Managers: colleagues who carry only a radio pager; a tap sets their presence (broker/web/radiopagers.py).
  function renderRadio(team) {
    keepFocus($("radio-list"), () => $("radio-list").replaceChildren(...team.map((c) => {
      const li = document.createElement("li"); li.dataset.radio = c.staff;
      const who = document.createElement("div"); who.textContent = c.name;
      const st = document.createElement("div"); st.className = `muted presence-${c.presence || "none"}`; st.dataset.presence = c.presence || "";
      st.textContent = t(`staff_presence_${c.presence || "unknown"}`);
      who.append(document.createElement("br"), st);
      li.append(who);
      for (const status of ["on_shift", "off"]) {
        const b = document.createElement("button"); b.textContent = t(`staff_${status}`);
        b.dataset.radioStatus = status; b.classList.toggle("on", c.presence === status);
        b.setAttribute("aria-pressed", String(c.presence === status));
        b.addEventListener("click", () => setRadio(c.staff, status)); li.append(b);
      }
      return li;
    })));
    $("no-radio").hidden = team.length > 0;
  }
  async function setRadio(staff, status) {
    try { accept((await api("team", { staff, status })).view); }
    catch (e) { banner(t("staff_not_sent", { why: e.message }), true); }
  }
  function tick() {
    if (!view) return;
    if (view.alert) $("a-wait").textContent = mmss(waited(view.alert.waited_s, true));
    for (const w of document.querySelectorAll(".calls .wait, .mine .wait")) w.textContent = mmss(waited(Number(w.dataset.s), w.dataset.ticking === "true"));
  }
  setInterval(tick, 1000);

  async function act(action, call, outcome) {
    try { accept((await api("act", { action, call, outcome: outcome || null })).view); }
    catch (e) { banner(t("staff_not_sent", { why: e.message }), true); }
  }
  for (const b of document.querySelectorAll("[data-act]")) b.addEventListener("click", () => {
    const id = view && view.alert && view.alert.id;
    if (!id) return;
    if (b.dataset.act === "decline") act("decline", id); else step(b.dataset.act, id);
  });
  for (const b of document.querySelectorAll("[data-status]")) b.addEventListener("click", async () => {
    unlockAudio();
    try { accept((await api("presence", { status: b.dataset.status })).view); }
    catch (e) { banner(t("staff_not_sent", { why: e.message }), true); }
  });
  $("logout").addEventListener("click", async () => { await api("logout").catch(() => {}); location.reload(); });

  // --- live connection -----------------------------------------------------------------------
  let source = null;
  function connect() {
    if (source) source.close();
    source = new EventSource("/staff/events");
    source.onopen = () => banner("");
    source.onmessage = (e) => {
      const v = JSON.parse(e.data);
      banner(v.connected ? "" : t("staff_no_hub"), true);
      accept(v, true);  // the stream is in order and restarts with the server: always the newest
    };
    source.onerror = () => banner(t("staff_unreachable"), true);
  }
  connect();
  // A ping every few seconds: the server marks this phone offline soon after they stop.
  setInterval(() => { api("ping").then(() => { if (source.readyState === EventSource.CLOSED) connect(); }).catch(() => banner(t("staff_unreachable"), true)); }, 2000);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") { connect(); render(); } });
})();
