// engram's web app: progressive enhancement over server-rendered pages.
// Every change goes to the JSON API with the session cookie and the CSRF
// token (the engram_csrf cookie echoed in X-CSRF-Token). No inline script
// exists anywhere, so the page's CSP can forbid it.
"use strict";

(function () {
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)engram_csrf=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // api calls the JSON API and resolves with its body, or rejects with an
  // Error whose message is the API's words.
  function api(method, path, body, accept) {
    var opts = {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Accept": accept || "application/json" }
    };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (res) {
      if (accept === "text/event-stream" && res.ok) { return res; }
      return res.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: text }; }
        if (!res.ok || data.success === false) {
          var err = new Error(data.error || ("The server answered " + res.status + "."));
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }

  function say(el, text, bad) {
    if (!el) { return; }
    el.textContent = text;
    el.classList.toggle("error", !!bad);
  }

  function pick(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }

  // Forms marked data-api become JSON requests. Field names with dots
  // nest ("settings.path"); data-type="int" and "bool" convert.
  function formBody(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "result" || el.disabled) { return; }
      if (el.type === "checkbox" && !el.checked) { return; }
      var v = el.value;
      if (v === "" && el.type !== "hidden") { return; }
      if (el.dataset.type === "int") { v = parseInt(v, 10); }
      if (el.dataset.type === "bool") { v = v === "true"; }
      var parts = el.name.split("."), o = out;
      for (var i = 0; i < parts.length - 1; i++) { o = o[parts[i]] = o[parts[i]] || {}; }
      o[parts[parts.length - 1]] = v;
    });
    return out;
  }

  function wireApiForms() {
    document.querySelectorAll("form[data-api]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { return; }
        var status = form.querySelector("[role=status]");
        var method = form.dataset.method || "POST";
        var body = method === "DELETE" ? undefined : formBody(form);
        say(status, "Working…");
        api(method, form.dataset.api, body).then(function (data) {
          var then = form.dataset.then || "";
          if (then === "reload") { window.location.reload(); return; }
          if (then === "watch") { say(status, "Started."); watchConnector(form.closest("[data-id]"), data.job_id); return; }
          if (then.charAt(0) === "/") { window.location.href = then; return; }
          if (then === "reset") { form.reset(); }
          if (then.indexOf("show:") === 0) {
            var out = form.querySelector("output");
            out.textContent = pick(data, then.slice(5)) || "";
            out.hidden = false;
            say(status, "Done. Copy it now: it is shown only once.");
            return;
          }
          say(status, "Done.");
        }).catch(function (err) { say(status, err.message, true); });
      });
    });
  }

  // ---- progress of syncs and jobs -------------------------------------

  function percent(job) {
    if (!job.progress || !job.progress.total) { return job.status === "succeeded" ? 100 : 0; }
    return Math.min(100, Math.floor(job.progress.done * 100 / job.progress.total));
  }

  function eta(job) {
    if (!job.started_at || !job.progress || !job.progress.total || !job.progress.done || job.status !== "running") { return ""; }
    var spent = (Date.now() - Date.parse(job.started_at)) / 1000;
    var left = spent * (job.progress.total - job.progress.done) / job.progress.done;
    return left > 0 ? ", about " + Math.ceil(left) + " s left" : "";
  }

  function final(status) { return status === "succeeded" || status === "failed" || status === "cancelled"; }

  function showJob(el, job) {
    var bar = el.querySelector("progress"), text = el.querySelector(".progress-text");
    var p = percent(job);
    if (bar) { bar.value = p; bar.textContent = p + "%"; }
    if (text) {
      var counts = job.progress.total ? job.progress.done + " of " + job.progress.total : job.progress.done + " items";
      text.textContent = job.status + ": " + counts + " (" + p + "%" + eta(job) + ")" +
        (job.error ? " — " + job.error : "");
    }
    el.dataset.jobStatus = job.status;
  }

  function watchConnector(el, jobID) {
    if (!el) { return; }
    var id = el.dataset.id;
    function tick() {
      api("GET", "/api/integrations/" + id + "/sync/status").then(function (data) {
        if (data.job) { showJob(el, data.job); }
        if (!data.job || !final(data.job.status) || (jobID && data.job.id !== jobID)) { setTimeout(tick, 400); }
      }).catch(function () { setTimeout(tick, 2000); });
    }
    tick();
  }

  function watchJob(row) {
    var id = row.dataset.job;
    function tick() {
      api("GET", "/api/jobs/" + id).then(function (data) {
        showJob(row, data.job);
        var st = row.querySelector(".job-status");
        if (st) { st.textContent = data.job.status + (data.job.error ? " — " + data.job.error : ""); }
        if (!final(data.job.status)) { setTimeout(tick, 500); }
      }).catch(function () { setTimeout(tick, 2000); });
    }
    tick();
  }

  function wireProgress() {
    document.querySelectorAll(".connector[data-job]").forEach(function (el) {
      if (!final(el.dataset.jobStatus)) { watchConnector(el); }
    });
    document.querySelectorAll("tr[data-job]").forEach(function (row) {
      if (!final(row.dataset.jobStatus)) { watchJob(row); }
    });
  }

  // ---- documents: selection and bulk actions ----------------------------

  function wireDocuments() {
    var table = document.getElementById("docs"), bulk = document.getElementById("bulk");
    if (!table || !bulk) { return; }
    var boxes = Array.prototype.slice.call(table.querySelectorAll("input.sel"));
    var count = document.getElementById("bulk-count"), result = document.getElementById("bulk-result");
    var last = -1, matching = null;
    function selected() { return matching || boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }); }
    function update() {
      var n = selected().length;
      count.textContent = matching ? "(all " + n + " matching selected)" : n ? "(" + n + " selected)" : "(none selected)";
    }
    // "Select all matching" pages through the list with the same filters
    // and keeps every id, up to the bulk limit.
    var selectMatching = document.getElementById("select-matching");
    if (selectMatching) {
      selectMatching.addEventListener("click", function () {
        var ids = [], base = "/api/documents?limit=200" + (bulk.dataset.query ? "&" + bulk.dataset.query : "");
        say(result, "Selecting…");
        function page(cursor) {
          return api("GET", base + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "")).then(function (data) {
            data.documents.forEach(function (d) { ids.push(d.id); });
            var next = data.pagination.next_cursor;
            if (next && ids.length < 10000) { return page(next); }
          });
        }
        page("").then(function () {
          matching = ids.slice(0, 10000);
          boxes.forEach(function (b) { b.checked = true; });
          update();
          say(result, matching.length + " documents selected.");
        }).catch(function (err) { say(result, err.message, true); });
      });
    }
    boxes.forEach(function (b, i) {
      b.addEventListener("click", function (ev) {
        // Shift-click selects the range from the last box clicked.
        if (ev.shiftKey && last >= 0) {
          var lo = Math.min(last, i), hi = Math.max(last, i);
          for (var j = lo; j <= hi; j++) { boxes[j].checked = b.checked; }
        }
        last = i;
        matching = null;
        update();
      });
    });
    document.getElementById("select-all").addEventListener("change", function (ev) {
      boxes.forEach(function (b) { b.checked = ev.target.checked; });
      matching = null;
      update();
    });
    bulk.querySelectorAll("button[data-action]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var ids = selected(), action = btn.dataset.action;
        if (!ids.length) { say(result, "Select documents first (the boxes on the left; shift-click selects a range).", true); return; }
        var body = { document_ids: ids };
        if (action === "classify") { body.classification = document.getElementById("bulk-class").value; }
        say(result, "Working…");
        api("POST", "/api/documents/bulk/" + action, body).then(function (data) {
          var n = data.confirmed != null ? data.confirmed : data.rejected != null ? data.rejected :
            data.updated != null ? data.updated : data.deleted != null ? data.deleted : data.restored;
          var missed = (data.not_found || []).length;
          var words = { confirm: "confirmed", reject: "rejected", classify: "set to " + body.classification, "delete": "deleted", restore: "restored" };
          result.textContent = n + " " + words[action] + (missed ? ", " + missed + " not found" : "") + ". ";
          result.classList.remove("error");
          if (action === "delete") {
            var undo = document.createElement("button");
            undo.type = "button"; undo.textContent = "Undo"; undo.id = "undo";
            undo.addEventListener("click", function () {
              api("POST", "/api/documents/bulk/restore", { document_ids: ids }).then(function (d) {
                say(result, d.restored + " restored.");
              }).catch(function (err) { say(result, err.message, true); });
            });
            result.appendChild(undo);
          }
        }).catch(function (err) { say(result, err.message, true); });
      });
    });
  }

  // ---- the review queue --------------------------------------------------

  function wireReview() {
    var queue = document.getElementById("queue");
    if (!queue) { return; }
    var status = document.getElementById("review-status"), doneEl = document.getElementById("review-done");
    var leftEl = document.getElementById("review-left");
    var items = function () { return Array.prototype.slice.call(queue.querySelectorAll("li.item")); };
    var at = 0, done = 0;
    function current() { return items()[at]; }
    function focus(i) {
      var all = items();
      if (!all.length) { return; }
      at = Math.max(0, Math.min(i, all.length - 1));
      all.forEach(function (li) { li.classList.remove("current"); li.removeAttribute("aria-current"); });
      all[at].classList.add("current");
      all[at].setAttribute("aria-current", "true");
      all[at].focus({ preventScroll: true });
      all[at].scrollIntoView({ block: "nearest" });
      if (all.length - at < 20) { more(); }
    }
    var pending = null;
    // more loads the next page of the queue; it resolves when it is in.
    function more() {
      var next = queue.dataset.next;
      if (!next) { return Promise.resolve(false); }
      if (pending) { return pending; }
      pending = api("GET", "/api/documents/review?limit=200&cursor=" + encodeURIComponent(next)).then(function (data) {
        data.documents.forEach(function (d) { queue.appendChild(itemFor(d)); });
        queue.dataset.next = data.pagination.next_cursor || "";
        pending = null;
        return true;
      }).catch(function (err) { pending = null; say(status, err.message, true); return false; });
      return pending;
    }
    // selectAll loads the rest of the queue (up to the bulk limit of
    // 10,000) and selects every document not yet reviewed.
    function selectAll() {
      say(status, "Loading the whole queue…");
      function step() {
        if (items().length >= 10000) { return Promise.resolve(); }
        return more().then(function (got) { return got ? step() : undefined; });
      }
      step().then(function () {
        items().forEach(function (li) { if (!li.classList.contains("reviewed")) { li.querySelector("input.sel").checked = true; } });
        say(status, selectedItems().length + " selected. Press c to confirm them all, r to reject them all.");
      });
    }
    function itemFor(d) {
      var li = document.createElement("li");
      li.className = "item"; li.dataset.id = d.id; li.tabIndex = -1;
      var row = document.createElement("div"); row.className = "row";
      var box = document.createElement("input"); box.type = "checkbox"; box.className = "sel"; box.value = d.id;
      box.setAttribute("aria-label", "Select " + d.title);
      var a = document.createElement("a"); a.className = "title"; a.href = "/documents/" + d.id; a.textContent = d.title || "(untitled)";
      var cls = document.createElement("span"); cls.className = "tag cls"; cls.textContent = d.classification;
      var conf = document.createElement("span"); conf.className = "conf";
      conf.textContent = d.classification_confidence == null ? "—" : Math.round(d.classification_confidence * 100) + "%";
      var state = document.createElement("span"); state.className = "state";
      row.append(box, a, cls, conf, state);
      var reason = document.createElement("p"); reason.className = "reason"; reason.textContent = d.classification_reason || "";
      li.append(row, reason);
      return li;
    }
    function mark(li, text) {
      li.querySelector(".state").textContent = text;
      li.classList.add("reviewed");
    }
    function selectedItems() { return items().filter(function (li) { return li.querySelector("input.sel").checked; }); }
    function count(n) {
      done += n; doneEl.textContent = String(done);
      leftEl.textContent = String(Math.max(0, parseInt(leftEl.textContent, 10) - n));
    }
    function decide(kind) {
      var sel = selectedItems();
      if (sel.length) {
        var ids = sel.map(function (li) { return li.dataset.id; });
        say(status, (kind === "confirm" ? "Confirming " : "Rejecting ") + ids.length + "…");
        api("POST", "/api/documents/bulk/" + kind, { document_ids: ids }).then(function (data) {
          var n = kind === "confirm" ? data.confirmed : data.rejected;
          sel.forEach(function (li) { li.querySelector("input.sel").checked = false; mark(li, kind === "confirm" ? "confirmed" : "rejected"); });
          count(n);
          say(status, n + " " + (kind === "confirm" ? "confirmed" : "rejected") + ".");
        }).catch(function (err) { say(status, err.message, true); });
        return;
      }
      var li = current();
      if (!li) { return; }
      if (li.classList.contains("reviewed")) { focus(at + 1); return; }
      mark(li, "…");
      api("POST", "/api/documents/" + li.dataset.id + "/" + kind, {}).then(function () {
        mark(li, kind === "confirm" ? "confirmed" : "rejected");
        count(1);
        say(status, "“" + li.querySelector(".title").textContent + "” " + (kind === "confirm" ? "confirmed." : "rejected."));
      }).catch(function (err) {
        li.classList.remove("reviewed");
        li.querySelector(".state").textContent = "";
        say(status, err.message, true);
      });
      focus(at + 1);
    }
    function setClass(c) {
      var li = current();
      if (!li) { return; }
      api("PUT", "/api/documents/" + li.dataset.id + "/classify", { classification: c }).then(function () {
        li.querySelector(".cls").textContent = c;
        say(status, "Set to " + c + ". Press c to confirm.");
      }).catch(function (err) { say(status, err.message, true); });
    }
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      var t = ev.target;
      if (t && (t.tagName === "INPUT" && t.type !== "checkbox" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) { return; }
      var keys = {
        j: function () { focus(at + 1); },
        k: function () { focus(at - 1); },
        w: function () { setClass("work"); },
        p: function () { setClass("personal"); },
        s: function () { setClass("spam"); },
        c: function () { decide("confirm"); },
        r: function () { decide("reject"); },
        x: function () { var li = current(); if (li) { var b = li.querySelector("input.sel"); b.checked = !b.checked; } },
        a: selectAll
      };
      var fn = keys[ev.key];
      if (fn) { ev.preventDefault(); fn(); }
    });
    queue.addEventListener("click", function (ev) {
      var li = ev.target.closest("li.item");
      if (li) { at = items().indexOf(li); focus(at); }
    });
    focus(0);
    queue.dataset.ready = "true";
  }

  // ---- ask ---------------------------------------------------------------

  function wireAsk() {
    var form = document.getElementById("ask-form");
    if (!form) { return; }
    var status = document.getElementById("ask-status"), section = document.getElementById("answer");
    var text = document.getElementById("answer-text"), cites = document.getElementById("citations");
    var history = document.getElementById("history");
    var conversation = null;
    function showCitations(list) {
      cites.textContent = "";
      (list || []).forEach(function (c) {
        var li = document.createElement("li");
        li.value = c.n;
        var a = document.createElement("a");
        a.href = "/documents/" + encodeURIComponent(c.document_id) + "#chunk-" + c.chunk_index;
        a.textContent = c.title || "(untitled)";
        var p = document.createElement("p"); p.className = "snippet"; p.textContent = c.snippet || "";
        li.append(a, p);
        cites.appendChild(li);
      });
    }
    function finish(q, data) {
      text.textContent = data.answer || "";
      showCitations(data.citations);
      if (data.conversation_id) { conversation = data.conversation_id; }
      var h = document.createElement("li");
      var qq = document.createElement("strong"); qq.textContent = q;
      var aa = document.createElement("p"); aa.textContent = data.answer || "";
      h.append(qq, aa);
      if (history.querySelector(".hint")) { history.textContent = ""; }
      history.appendChild(h);
      say(status, "Answered" + (data.mode ? " (" + data.mode + ")" : "") + ".");
    }
    // readStream reads server-sent events: text deltas are appended as
    // they come; an event whose data carries the citations ends it.
    function readStream(res, q) {
      var reader = res.body.getReader(), dec = new TextDecoder(), buf = "", finalData = null;
      function handle(block) {
        var ev = "message", data = "";
        block.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) { ev = line.slice(6).trim(); }
          if (line.indexOf("data:") === 0) { data += line.slice(5).replace(/^ /, ""); }
        });
        if (!data) { return; }
        var obj = null;
        try { obj = JSON.parse(data); } catch (e) { obj = null; }
        if (ev === "error" || (obj && obj.success === false)) { throw new Error((obj && obj.error) || data); }
        if (obj && (obj.citations || obj.answer !== undefined && ev !== "delta" && ev !== "token")) { finalData = obj; return; }
        var piece = obj === null ? data : (typeof obj === "string" ? obj : (obj.delta || obj.text || obj.token || ""));
        text.textContent += piece;
      }
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) {
            if (buf.trim()) { handle(buf); }
            finish(q, finalData || { answer: text.textContent, citations: [] });
            return;
          }
          buf += dec.decode(r.value, { stream: true });
          var parts = buf.split(/\r?\n\r?\n/);
          buf = parts.pop();
          parts.forEach(handle);
          return pump();
        });
      }
      return pump();
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = form.question.value.trim();
      if (!q) { return; }
      var body = { question: q };
      if (conversation) { body.conversation_id = conversation; }
      section.hidden = false; text.textContent = ""; cites.textContent = "";
      say(status, "Thinking…");
      api("POST", "/api/ask", body, "text/event-stream").then(function (res) {
        var type = res.headers.get("Content-Type") || "";
        if (type.indexOf("text/event-stream") === 0) { return readStream(res, q); }
        return res.json().then(function (data) { finish(q, data); });
      }).catch(function (err) {
        section.hidden = true;
        say(status, err.status === 404 ? "Asking is not available on this server yet." : err.message, true);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireApiForms();
    wireProgress();
    wireDocuments();
    wireReview();
    wireAsk();
  });
})();
