/* The report page's service worker (served as /sw.js, scope /report; GRIDFLOW_OFFLINE, the line
   the server puts above this, lists what it keeps). It keeps two things on the phone:
   - the static files the report page loads, in a cache named after their version;
   - the report page itself and the reporter's grids (its shell), the last copy the network gave,
     so that the page opens without a connection. That is the signed-in worker's own page; the
     sign-in page deletes it (gridflow.js), so the next person to sign in never sees it.
   Nothing else is answered from a cache: no API answer, no case, no other page, and no POST. */
"use strict";

var STATIC_CACHE = "gridflow-static-" + GRIDFLOW_OFFLINE.version;
var SHELL_CACHE = "gridflow-shell";

function keepShell(path, response) {
  // Only the page itself: a redirect (to the sign-in page) or an error is not the worker's page.
  if (!response.ok || response.redirected || response.type !== "basic") { return response; }
  var copy = response.clone();
  return caches.open(SHELL_CACHE).then(function (cache) { return cache.put(path, copy); })
    .then(function () { return response; }, function () { return response; });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE)
    .then(function (cache) { return cache.addAll(GRIDFLOW_OFFLINE.static); })
    .then(function () {
      return Promise.all(GRIDFLOW_OFFLINE.shell.map(function (path) {
        return fetch(path, { credentials: "same-origin" })
          .then(function (r) { return keepShell(path, r); }, function () { return null; });
      }));
    })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("gridflow-static-") === 0 && n !== STATIC_CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (GRIDFLOW_OFFLINE.shell.indexOf(url.pathname) >= 0) {
    // Network first: a fresh page when there is a connection, the kept one when there is none.
    event.respondWith(fetch(request).then(function (response) {
      return keepShell(url.pathname, response);
    }, function () {
      return caches.open(SHELL_CACHE).then(function (cache) { return cache.match(url.pathname); })
        .then(function (kept) { return kept || Response.error(); });
    }));
  } else if (GRIDFLOW_OFFLINE.static.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.open(STATIC_CACHE).then(function (cache) {
      return cache.match(url.pathname).then(function (kept) { return kept || fetch(request); });
    }));
  }
});
