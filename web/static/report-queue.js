/* The report page's queue: reports kept on the phone (IndexedDB, photos included) until they are
   sent. Every report gets a key made here (a UUID) that it keeps on every try; the server answers a
   repeat with the first case, so a report whose answer was lost is sent again safely. The queue is
   sent in order when the page opens, when the connection returns and after a growing pause while
   it fails. A refusal (a field the server rejects) is kept with the server's reason, to correct or
   discard; a report whose answer never came stays queued. Without this script the plain form works.
   Reports of a channel that gives the resident a link (a clerk recording a call) go the plain way:
   the link is shown on the next page, once. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || !window.indexedDB || !window.fetch || !window.FormData || !window.Promise) { return; }
  var d = form.dataset;
  var user = d.user;
  var banner = document.getElementById("queue-banner");
  var section = document.getElementById("queue");
  var list = document.getElementById("queue-list");
  var STORE = "reports";
  var KEEP_SENT = 20;                 // sent reports listed (without their photos) before the oldest go
  var TYPES = ["image/jpeg", "image/png", "image/webp"];
  var residentSources = (d.residentSources || "").split(" ");
  var sending = {};
  var failures = 0;
  var retryTimer = null;
  var chain = Promise.resolve();

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) { return values[name] !== undefined ? values[name] : all; });
  }

  // -- the phone's storage -----------------------------------------------------------------------
  var db = new Promise(function (resolve, reject) {
    var opening = indexedDB.open("gridflow-reports", 1);
    opening.onupgradeneeded = function () {
      opening.result.createObjectStore(STORE, { keyPath: "key" }).createIndex("user", "user");
    };
    opening.onsuccess = function () { resolve(opening.result); };
    opening.onerror = function () { reject(opening.error); };
  });

  function transact(mode, work) {
    return db.then(function (base) {
      return new Promise(function (resolve, reject) {
        var t = base.transaction(STORE, mode);
        var request = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(request ? request.result : undefined); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }
  function save(record) { return transact("readwrite", function (s) { return s.put(record); }); }
  function drop(key) { return transact("readwrite", function (s) { return s.delete(key); }); }
  function load(key) { return transact("readonly", function (s) { return s.get(key); }); }
  function mine() {
    // Only this user's reports: others kept on a shared phone wait for their own sign-in.
    return transact("readonly", function (s) { return s.index("user").getAll(user); }).then(function (rows) {
      return rows.sort(function (a, b) { return a.created < b.created ? -1 : a.created > b.created ? 1 : 0; });
    });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;   // a version-4 UUID
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  // -- the form ------------------------------------------------------------------------------------
  function photoInput() { return form.querySelector("[name=photos]"); }

  function readForm() {
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && name !== "idempotency_key" && name !== "photos") { fields.push([name, value]); }
    });
    var photos = Array.prototype.slice.call(photoInput().files || []);
    return { fields: fields, photos: photos };
  }

  // The server's own limits, checked before a photo is kept: a refusal hours later helps nobody.
  function photoProblems(photos) {
    var problems = [];
    var limit = parseInt(d.maxBytes, 10);
    if (photos.length > parseInt(d.maxPhotos, 10)) { problems.push(fill(d.labelTooMany, { n: d.maxPhotos })); }
    photos.forEach(function (p) {
      if (TYPES.indexOf(p.type) < 0) {
        problems.push(fill(d.labelNotPhoto, { name: p.name }));
      } else if (p.size > limit) {
        problems.push(fill(d.labelTooLarge, { name: p.name, size: (p.size / 1048576).toFixed(1),
                                              limit: (limit / 1048576).toFixed(0) }));
      }
    });
    return problems;
  }

  function clearErrors() {
    form.querySelectorAll(".field-error[data-queue]").forEach(function (p) { p.remove(); });
  }

  // Errors by field beside their fields, as the server's own page puts them.
  function showErrors(errors) {
    clearErrors();
    var first = null;
    Object.keys(errors || {}).forEach(function (name) {
      var input = form.querySelector("[name='" + name + "']");
      var place = input ? input.closest(".field") : null;
      if (!place) { place = form; }
      errors[name].forEach(function (message) {
        var p = document.createElement("p");
        p.className = "field-error";
        p.setAttribute("role", "alert");
        p.setAttribute("data-queue", "");
        p.textContent = message;
        if (place === form) { form.insertBefore(p, form.firstChild); } else { place.appendChild(p); }
        first = first || p;
      });
    });
    if (first) { first.scrollIntoView({ block: "center" }); }
  }

  function putBack(record) {
    form.reset();
    record.fields.forEach(function (pair) {
      var inputs = form.querySelectorAll("[name='" + pair[0] + "']");
      inputs.forEach(function (input) {
        if (input.type === "radio") {
          input.checked = input.value === pair[1];
          var group = input.closest("details");
          if (input.checked && group) { group.open = true; }
        } else if (input.type === "checkbox") {
          input.checked = true;
        } else {
          input.value = pair[1];
        }
      });
    });
    if (record.photos.length && window.DataTransfer) {
      var files = new DataTransfer();
      record.photos.forEach(function (p) { files.items.add(new File([p.blob], p.name, { type: p.type })); });
      photoInput().files = files.files;
    }
    form.querySelectorAll("[name=lat]").forEach(function (input) { input.dispatchEvent(new Event("change")); });
  }

  // -- the list of reports on this phone ----------------------------------------------------------
  function say(kind, values) {
    banner.hidden = !kind;
    banner.textContent = "";
    banner.className = "flash" + (kind === "signed-out" || kind === "other-user" ? " error" : "");
    banner.setAttribute("data-state", kind || "");
    if (!kind) { return; }
    var text = { offline: d.labelOffline, kept: d.labelKept, "signed-out": d.labelSignedOut,
                 "other-user": d.labelOtherUser }[kind];
    banner.appendChild(document.createTextNode(fill(text, values || {}) + " "));
    if (kind === "signed-out") {
      var link = document.createElement("a");
      link.href = d.signInUrl;
      link.textContent = d.labelSignIn;
      banner.appendChild(link);
    }
  }

  function summary(record) {
    var value = function (name) {
      var pair = record.fields.filter(function (f) { return f[0] === name; })[0];
      return pair ? pair[1] : "";
    };
    var words = value("description");
    return [value("category_code"), words.length > 60 ? words.slice(0, 60) + "…" : words].join(" ").trim();
  }

  function button(label, action, record) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.textContent = label;
    b.setAttribute("data-action", action);
    b.addEventListener("click", function () {
      drop(record.key).then(function () {
        if (action === "correct") { putBack(record); showErrors(record.errors); }
        refresh();
      });
    });
    return b;
  }

  function item(record) {
    var li = document.createElement("li");
    var status = sending[record.key] ? "sending" : record.status;
    li.setAttribute("data-key", record.key);
    li.setAttribute("data-status", status);
    var when = document.createElement("time");
    when.dateTime = record.created;
    when.textContent = new Date(record.created).toLocaleString();
    var what = document.createElement("span");
    what.className = "what";
    what.textContent = summary(record) +
      (record.photos.length ? " · " + fill(d.labelPhotos, { n: record.photos.length }) : "");
    var state = document.createElement("strong");
    state.className = "state";
    state.textContent = { queued: d.labelQueued, sending: d.labelSending, sent: d.labelSent,
                          refused: d.labelRefused }[status];
    li.append(when, " ", what, " ", state);
    if (status === "sent") {
      var link = document.createElement("a");
      link.href = record.url;
      link.className = "case-code";
      link.textContent = record.code;
      li.append(" ", link);
    } else if (status === "refused") {
      var reasons = document.createElement("ul");
      reasons.className = "reasons";
      Object.keys(record.errors).forEach(function (name) {
        record.errors[name].forEach(function (message) {
          var r = document.createElement("li");
          r.textContent = message;
          reasons.appendChild(r);
        });
      });
      li.append(reasons, button(d.labelCorrect, "correct", record), " ", button(d.labelDiscard, "discard", record));
    }
    return li;
  }

  function refresh() {
    return mine().then(function (records) {
      var sent = records.filter(function (r) { return r.status === "sent"; });
      var old = sent.slice(0, Math.max(0, sent.length - KEEP_SENT));
      old.forEach(function (r) { drop(r.key); });
      var shown = records.filter(function (r) { return old.indexOf(r) < 0; }).reverse();  // newest first
      list.replaceChildren.apply(list, shown.map(item));
      section.hidden = !shown.length;
      return records;
    });
  }

  // -- sending ---------------------------------------------------------------------------------------
  function answer(response) {
    return response.json().then(function (body) { return { status: response.status, body: body, response: response }; },
                                function () { return { status: response.status, body: null, response: response }; });
  }

  function signedIn() {
    return fetch(d.session, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(answer).then(function (a) {
        if (a.status === 401) { return null; }
        if (a.status !== 200 || !a.body) { throw new Error("session " + a.status); }
        return a.body;
      });
  }

  function post(record, csrf, foreground) {
    var body = new FormData();
    record.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    record.photos.forEach(function (p) { body.append("photos", p.blob, p.name); });
    body.append("csrf_token", csrf);
    var headers = { Accept: "application/json", "Idempotency-Key": record.key };
    if (foreground) { headers["X-Report-Flash"] = "true"; }  // the case page it opens says it was reported
    return fetch(form.action, { method: "POST", body: body, headers: headers, credentials: "same-origin",
                                cache: "no-store" }).then(answer);
  }

  function retryLater(seconds) {
    failures += 1;
    var pause = seconds ? seconds * 1000 : Math.min(300000, 2000 * Math.pow(2, failures - 1)) * (0.75 + Math.random() / 2);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { send(); }, pause);
  }

  // One report: "next" to go on with the next, "stop" to end this round (it waits for the next
  // one), "signed-out" when the session ended meanwhile.
  function sendOne(record, session, foreground) {
    sending[record.key] = true;
    refresh();
    return post(record, session.csrf_token, foreground).then(function (a) {
      if (a.status === 200 || a.status === 201) {
        record.status = "sent"; record.code = a.body.code; record.url = a.body.url; record.photos = [];
        return save(record).then(function () {
          if (foreground) { window.location.assign(record.url); }
          return "next";
        });
      }
      if (a.status === 401) { return "signed-out"; }
      if (a.status === 400 && a.body && a.body.error === "csrf") {
        return signedIn().then(function (fresh) {  // the session changed meanwhile: once more with its token
          if (!fresh) { return "signed-out"; }
          session.csrf_token = fresh.csrf_token;
          return sendOne(record, session, foreground);
        });
      }
      if (a.status === 429 || a.status >= 500) {
        retryLater(parseInt(a.response.headers.get("Retry-After"), 10) || 0);
        return "stop";
      }
      var errors = (a.body && a.body.errors) || { _: [fill(d.labelFailed, { status: a.status })] };
      if (foreground) {  // the form still holds it: the errors go beside its fields, as on the plain page
        return drop(record.key).then(function () { showErrors(errors); return "next"; });
      }
      record.status = "refused"; record.errors = errors;
      return save(record).then(function () { return "next"; });
    }, function () {
      retryLater();  // no answer: the same key next time, so a case made meanwhile is not made twice
      return "stop";
    }).then(function (outcome) {
      delete sending[record.key];
      return outcome;
    });
  }

  function round(foreground) {
    return mine().then(function (records) {
      var waiting = records.filter(function (r) { return r.status === "queued"; });
      if (navigator.onLine === false) { say(waiting.length ? "kept" : "offline"); return; }
      if (!waiting.length) { say(null); return; }
      return signedIn().then(function (session) {
        if (!session) { say("signed-out", { n: waiting.length }); return; }
        if (session.username !== user) { say("other-user", { user: session.username, owner: user }); return; }
        var next = function (i) {
          if (i >= waiting.length) { failures = 0; say(null); return; }
          return sendOne(waiting[i], session, waiting[i].key === foreground).then(function (outcome) {
            if (outcome === "signed-out") { say("signed-out", { n: waiting.length - i }); }
            return outcome === "next" ? next(i + 1) : undefined;
          });
        };
        return next(0);
      }, function () { retryLater(); say("offline"); });
    });
  }

  // Rounds run one after another in this tab, and in one tab at a time where the browser can lock.
  function send(foreground) {
    chain = chain.then(function () {
      if (navigator.locks) {
        return navigator.locks.request("gridflow-report-queue", function () { return round(foreground); });
      }
      return round(foreground);
    }).catch(function () {}).then(refresh);
    return chain;
  }

  form.addEventListener("submit", function (event) {
    var source = form.querySelector("[name=source]");
    if (source && residentSources.indexOf(source.value) >= 0) { return; }  // the plain form: its link page
    event.preventDefault();
    clearErrors();
    var read = readForm();
    var problems = photoProblems(read.photos);
    if (problems.length) { showErrors({ photos: problems }); return; }
    var record = { key: newKey(), user: user, created: new Date().toISOString(), fields: read.fields,
                   photos: read.photos.map(function (f) { return { name: f.name, type: f.type, blob: f }; }),
                   status: "queued" };
    save(record).then(function () {
      if (navigator.storage && navigator.storage.persist) { navigator.storage.persist().catch(function () {}); }
      return send(record.key);
    }).then(function () { return load(record.key); }).then(function (kept) {
      if (kept && kept.status === "queued") {  // not sent yet: it waits on the phone, the form is free
        form.reset();
        clearErrors();
        if (banner.hidden || banner.getAttribute("data-state") === "offline") { say("kept"); }
        document.getElementById("queue").scrollIntoView({ block: "nearest" });
      }
    });
  });

  window.addEventListener("online", function () { failures = 0; send(); });
  window.addEventListener("offline", function () { say("offline"); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { send(); } });
  send();
})();
