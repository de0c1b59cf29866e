// Offline shell only: the app's page, style and script come from the cache when the network is gone,
// so the phone can say "cannot reach the store" instead of a browser error. Live data is never cached.
const SHELL = "staffcall-staff-v1";
const FILES = ["/staff", "/phones-static/phones.css", "/phones-static/staff.js", "/phones-static/icon.svg"];
self.addEventListener("install", (e) => { e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting())); });
self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k)))).then(() => self.clients.claim()));
});
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || !FILES.includes(url.pathname)) return;  // API and events: network only
  e.respondWith(fetch(e.request).then((r) => { const copy = r.clone(); caches.open(SHELL).then((c) => c.put(e.request, copy)); return r; })
    .catch(() => caches.match(e.request)));
});
