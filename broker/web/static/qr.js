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

  // A new screen takes the focus to its heading (not the page body), so a screen reader and the keyboard
  // start there; the first screen after loading keeps the browser's own start.
  function show(id) {
    const changed = document.body.dataset.screen !== undefined && document.body.dataset.screen !== id;
    for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== id;
    document.body.dataset.screen = id;
    if (changed) $(id).querySelector("h1").focus();
  }
  // Every status change is said once in the polite live region; the ticking waiting time is not a change.
  let said = "", status = "";
  function say(...parts) {
    const text = parts.filter(Boolean).join(" ");
    if (!text || text === said) return;
    said = text;
    $("live").textContent = text;
  }
  function sayStatus(...parts) {  // the call's status: said when it changed, and again once the page is back online
    const text = parts.filter(Boolean).join(" ");
    if (text === status) return;
    status = text; say(text);
  }
  function banner(text) {
    const changed = (text || "") !== $("banner").textContent;
    $("banner").textContent = text || ""; $("banner").hidden = !text;
    if (changed && text) say(text);
  }

  // Sound and vibration when a colleague is on the way: only after the customer touched the page (browsers
  // allow audio and vibration then) and only while the page's own switch is on (kept on this phone).
  const CHIME = `staffcall:chime`;
  let audio = null;
  const chimeOn = () => localStorage.getItem(CHIME) !== "off";
  function unlockAudio() {
    if (!audio) { try { audio = new AudioContext(); } catch { audio = null; } }
    if (audio && audio.state === "suspended") audio.resume().catch(() => {});
  }
  function chime() {
    if (!chimeOn()) return;
    if (navigator.vibrate && (!navigator.userActivation || navigator.userActivation.hasBeenActive)) navigator.vibrate([200, 100, 200]);
    if (!audio || audio.state !== "running") return;
    const t0 = audio.currentTime;
    [660, 990].forEach((f, i) => {
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = f; o.connect(g); g.connect(audio.destination);
      g.gain.setValueAtTime(0.25, t0 + i * 0.22); g.gain.setValueAtTime(0, t0 + i * 0.22 + 0.18);
      o.start(t0 + i * 0.22); o.stop(t0 + i * 0.22 + 0.2);
    });
  }
  function showChime() { $("chime").setAttribute("aria-pressed", String(chimeOn())); }
  let coming = null;  // null until the first view: a reload onto "on the way" does not chime again

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
    const wasComing = coming;
    coming = v.screen === "waiting" && !!v.coming;
    if (coming && wasComing === false) chime();
    if (v.screen === "welcome") return show("welcome");
    if (v.screen === "waiting") {
      $("w-headline").textContent = v.headline; $("w-who").textContent = v.who; $("w-eta").textContent = v.eta;
      $("w-note").textContent = v.note; tickFrom(v.elapsed);
      $("cancel").hidden = !v.can_cancel;
      document.body.classList.toggle("overdue", !!v.overdue);
      show("waiting");
      return sayStatus(v.headline, v.who, v.eta, v.note);
    }
    if (v.screen === "feedback" && !skipped) {
      $("f-headline").textContent = v.headline; show("feedback");
      return sayStatus(v.headline);
    }
    $("m-headline").textContent = v.screen === "feedback" ? D.texts.thanks || v.headline : v.headline;
    $("m-detail").textContent = v.detail || "";
    $("again").hidden = v.screen === "greeted";
    show("message");
    sayStatus($("m-headline").textContent, $("m-detail").textContent);
  }

  function connect() {
    if (source) source.close();
    const s = saved();
    source = new EventSource(`/c/${D.device}/events?${q(s.call ? { call: s.call, token: s.token || "" } : {})}`);
    source.onmessage = (e) => render(JSON.parse(e.data));
    source.onerror = () => banner(D.texts.reconnecting);  // EventSource retries by itself
    source.onopen = () => { if (!$("banner").hidden) { banner(""); status = ""; } };  // back: say the status again
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

  for (const b of document.querySelectorAll("[data-reason]")) b.addEventListener("click", () => { unlockAudio(); call(b.dataset.reason); });
  $("chime").addEventListener("click", () => {
    localStorage.setItem(CHIME, chimeOn() ? "off" : "on"); showChime();
    if (chimeOn()) unlockAudio();
  });
  showChime();
  $("cancel").addEventListener("click", async () => {
    const s = saved();
    try { await post("cancel", { call: s.call, token: s.token }); } catch (e) { $("w-note").textContent = e.message; }
  });
  for (const b of document.querySelectorAll("[data-score]")) b.addEventListener("click", async () => {
    const s = saved();
    try { await post("feedback", { call: s.call, token: s.token, score: Number(b.dataset.score) }); } catch (e) { /* shown as thanks anyway */ }
  });
  $("skip").addEventListener("click", () => { skipped = true; connect(); });
  $("again").addEventListener("click", () => { unlockAudio(); localStorage.removeItem(store); connect(); });
  connect();
})();
