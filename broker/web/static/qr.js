// The customer's QR call page: one call, resumed from localStorage after a reload or a lost connection.
(() => {
  const D = JSON.parse(document.getElementById("qr-data").textContent);
  const store = `staffcall:${D.device}`;
  const $ = (id) => document.getElementById(id);
  const q = (extra) => new URLSearchParams({ k: D.key, lang: D.lang, ...extra }).toString();
  let source = null;
  let skipped = false;

  const saved = () => { try { return JSON.parse(localStorage.getItem(store)) || {}; } catch { return {}; } };
  const save = (v) => localStorage.setItem(store, JSON.stringify(v));

  function show(id) {
    for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== id;
    document.body.dataset.screen = id;
  }
  function banner(text) { $("banner").textContent = text || ""; $("banner").hidden = !text; }

  // The waiting time ticks on the phone between pushes: count on from the "m:ss" the server sent.
  let tick = null;
  function tickFrom(text) {
    const el = $("w-elapsed");
    el.textContent = text;
    if (tick) clearInterval(tick);
    const m = /(\d+):(\d\d)/.exec(text || "");
    if (!m) return;
    const base = Number(m[1]) * 60 + Number(m[2]);
    const since = Date.now();
    tick = setInterval(() => {
      if (document.body.dataset.screen !== "waiting") { clearInterval(tick); tick = null; return; }
      const total = base + Math.floor((Date.now() - since) / 1000);
      el.textContent = text.replace(m[0], `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`);
    }, 1000);
  }

  function render(v) {
    document.body.dataset.view = v.screen;
    banner(v.connected === false ? D.texts.qr_offline : "");
    if (v.screen === "welcome") return show("welcome");
    if (v.screen === "waiting") {
      $("w-headline").textContent = v.headline; $("w-who").textContent = v.who; $("w-eta").textContent = v.eta;
      $("w-note").textContent = v.note; tickFrom(v.elapsed);
      $("cancel").hidden = !v.can_cancel;
      document.body.classList.toggle("overdue", !!v.overdue);
      return show("waiting");
    }
    if (v.screen === "feedback" && !skipped) { $("f-headline").textContent = v.headline; return show("feedback"); }
    $("m-headline").textContent = v.screen === "feedback" ? D.texts.thanks || v.headline : v.headline;
    $("m-detail").textContent = v.detail || "";
    $("again").hidden = v.screen === "greeted";
    show("message");
  }

  function connect() {
    if (source) source.close();
    const s = saved();
    source = new EventSource(`/c/${D.device}/events?${q(s.call ? { call: s.call, token: s.token || "" } : {})}`);
    source.onopen = () => banner("");
    source.onmessage = (e) => render(JSON.parse(e.data));
    source.onerror = () => banner(D.texts.reconnecting);  // EventSource retries by itself
  }

  // Every message the customer reads is the server's, from the catalogs; no answer at all is qr_offline.
  async function post(action, body) {
    let r;
    try {
      r = await fetch(`/c/${D.device}/${action}?lang=${D.lang}`, {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
        body: JSON.stringify({ k: D.key, lang: D.lang, ...body }),
      });
    } catch { throw new Error(D.texts.qr_offline); }
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.message || D.texts.qr_offline);
    return data;
  }

  async function call(reason) {
    $("error").textContent = "";
    const s = saved();
    const text = $("text") ? $("text").value.trim() : "";
    if (text.length > 200) { $("error").textContent = D.texts.qr_too_long; return; }
    try {
      const r = await post("call", { reason: reason || null, text: text || null, call: s.call || null, token: s.token || null });
      save({ call: r.call, token: r.token });
      skipped = false;
      connect();
    } catch (e) { $("error").textContent = e.message; }
  }

  for (const b of document.querySelectorAll("[data-reason]")) b.addEventListener("click", () => call(b.dataset.reason));
  $("cancel").addEventListener("click", async () => {
    const s = saved();
    try { await post("cancel", { call: s.call, token: s.token }); } catch (e) { $("w-note").textContent = e.message; }
  });
  for (const b of document.querySelectorAll("[data-score]")) b.addEventListener("click", async () => {
    const s = saved();
    try { await post("feedback", { call: s.call, token: s.token, score: Number(b.dataset.score) }); } catch (e) { /* shown as thanks anyway */ }
  });
  $("skip").addEventListener("click", () => { skipped = true; connect(); });
  $("again").addEventListener("click", () => { localStorage.removeItem(store); connect(); });
  connect();
})();
