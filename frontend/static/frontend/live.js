/* Live updates over WebSockets, no library. Two uses:
   1. The week calendar (#week) subscribes to /ws/availability/ (SPEC section 4): a snapshot, then an
      update with the full busy list and the instrument's version after every change; a version gap
      means something was missed, so it subscribes again for a fresh snapshot.
   2. A region marked data-live-socket="/ws/me/" (or /ws/queue/) fetches its fragment again
      (data-live-refresh) whenever the socket says something changed.
   Both reconnect with a growing delay when the connection drops, except after 4401/4403 (signed out,
   password changed: docs/security.md), when the page stays as it is until it is loaded again. */
(function () {
  "use strict";

  function wsUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function setStatus(state, text) {
    var el = document.getElementById("live-status");
    if (!el) return;
    el.dataset.state = state;
    if (text) el.textContent = text;
  }

  function connect(path, handlers) {
    var delay = 500, socket = null;
    function open() {
      socket = new WebSocket(wsUrl(path));
      socket.addEventListener("open", function () { delay = 500; handlers.open(socket); });
      socket.addEventListener("message", function (ev) {
        var msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        handlers.message(msg, socket);
      });
      socket.addEventListener("close", function (ev) {
        handlers.close();
        // 4401/4403: the session ended or never allowed this socket; trying again would change nothing.
        if (ev.code === 4401 || ev.code === 4403) return;
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      });
    }
    open();
  }

  /* ---- the week calendar ---- */
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localInput(ms) {
    // datetime-local text in China Standard Time (UTC+08:00, no daylight saving).
    var d = new Date(ms + 8 * 3600 * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + "T" + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  function paint(table, busy) {
    var spans = busy.map(function (b) { return { s: Date.parse(b.start), e: Date.parse(b.end), kind: b.kind }; });
    var cells = table.querySelectorAll("td[data-start]");
    for (var i = 0; i < cells.length; i++) {
      var td = cells[i];
      if (td.dataset.fixed) continue;
      var s = Date.parse(td.dataset.start), e = Date.parse(td.dataset.end), state = "free";
      for (var j = 0; j < spans.length; j++) {
        if (spans[j].s < e && spans[j].e > s) {
          if (spans[j].kind === "closure") { state = "closure"; break; }
          state = "booking";
        }
      }
      if (td.classList.contains(state)) continue;
      td.className = state;
      td.textContent = "";
      if (state === "free") {
        var a = document.createElement("a");
        var q = "start=" + localInput(s) + "&end=" + localInput(Date.parse(td.dataset.bookEnd));
        a.href = "?" + q + "#booking-form";
        a.setAttribute("hx-get", table.dataset.bookUrl + "?" + q);
        a.setAttribute("hx-target", "#booking-form");
        a.setAttribute("hx-swap", "outerHTML");
        a.textContent = table.dataset.labelFree;
        td.appendChild(a);
        if (window.htmx) window.htmx.process(a);
      } else {
        var span = document.createElement("span");
        span.textContent = table.dataset["label" + state.charAt(0).toUpperCase() + state.slice(1)];
        td.appendChild(span);
      }
    }
  }

  /* The "in use" badge: its instrument's version rises when use starts or stops, so it is fetched again
     with every snapshot and update of the week. */
  function refreshBadge() {
    var badge = document.getElementById("usage-badge");
    if (!badge || !window.htmx) return;
    window.htmx.ajax("GET", badge.dataset.refresh, { target: "#usage-badge", swap: "outerHTML" });
  }

  function liveWeek(table) {
    var id = parseInt(table.dataset.instrument, 10);
    var version = parseInt(table.dataset.version, 10);
    function subscribe(socket) {
      socket.send(JSON.stringify({ type: "subscribe", instruments: [id], start: table.dataset.start, end: table.dataset.end }));
    }
    connect("/ws/availability/", {
      open: function (socket) { subscribe(socket); },
      message: function (msg, socket) {
        if (msg.instrument !== id) return;
        if (msg.type === "snapshot") {
          version = msg.version;
          paint(table, msg.busy || []);
          table.dataset.version = String(version);
          setStatus("open", table.dataset.msgOpen);
          refreshBadge();
        } else if (msg.type === "update") {
          if (msg.version <= version) return;          // already seen
          if (msg.version > version + 1) { subscribe(socket); return; }  // missed one: start afresh
          version = msg.version;
          table.dataset.version = String(version);
          paint(table, msg.busy || []);
          refreshBadge();
        }
      },
      close: function () { setStatus("closed", table.dataset.msgClosed); }
    });
  }

  /* ---- fragments refreshed on a signal ---- */
  /* What a person has ticked, typed or chosen in a region, by control id, and where the focus is: a refresh
     draws the region anew, and must not drop a manager's ticks in the queue or a reason half typed. */
  function keepInput(target) {
    var kept = { fields: [], focus: null };
    var root = document.querySelector(target);
    if (!root) return kept;
    var controls = root.querySelectorAll("input[id], textarea[id], select[id]");
    for (var i = 0; i < controls.length; i++) {
      var c = controls[i];
      if (c.type === "hidden") continue;
      if (c.type === "checkbox" || c.type === "radio") {
        if (c.checked !== c.defaultChecked) kept.fields.push({ id: c.id, checked: c.checked });
      } else if (c.tagName === "SELECT") {
        var o = c.options[c.selectedIndex];
        if (o && !o.defaultSelected) kept.fields.push({ id: c.id, value: c.value });
      } else if (c.value !== c.defaultValue) {
        kept.fields.push({ id: c.id, value: c.value });
      }
    }
    var active = document.activeElement;
    if (active && active.id && root.contains(active)) kept.focus = active.id;
    return kept;
  }

  function restoreInput(kept) {
    kept.fields.forEach(function (f) {
      var c = document.getElementById(f.id);
      if (!c) return;  // that request was decided meanwhile: its row is gone
      if ("checked" in f) c.checked = f.checked; else c.value = f.value;
    });
    var focus = kept.focus && document.getElementById(kept.focus);
    if (focus && document.activeElement !== focus) focus.focus();
  }

  function liveRegion(region) {
    var status = document.getElementById("live-status");
    var target = region.dataset.liveTarget, kept = null;
    // Read just before the swap and put back just after it (both in one task): a refresh still in flight
    // when the person ticks must not carry an older picture of the form.
    region.addEventListener("htmx:beforeSwap", function () { kept = keepInput(target); });
    region.addEventListener("htmx:afterSwap", function () { if (kept) { restoreInput(kept); kept = null; } });
    function refresh() {
      if (!window.htmx) { location.reload(); return; }
      window.htmx.ajax("GET", region.dataset.liveRefresh, { target: target, swap: "outerHTML" });
    }
    connect(region.dataset.liveSocket, {
      open: function () { setStatus("open", status && status.dataset.msgOpen); refresh(); },
      message: function (msg) { if (msg.type !== "error" && msg.type !== "closed") refresh(); },
      close: function () { setStatus("closed", status && status.dataset.msgClosed); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("week");
    if (table) liveWeek(table);
    var regions = document.querySelectorAll("[data-live-socket]");
    for (var i = 0; i < regions.length; i++) liveRegion(regions[i]);
    // A clicked free cell shows where the form now points.
    document.body.addEventListener("click", function (ev) {
      var a = ev.target.closest && ev.target.closest("#week td.free a");
      if (!a) return;
      var old = document.querySelector("#week td.picked");
      if (old) old.classList.remove("picked");
      a.parentNode.classList.add("picked");
    });
    document.body.addEventListener("htmx:afterSwap", function (ev) {
      if (ev.detail.target && ev.detail.target.id === "booking-form") {
        var first = document.querySelector("#booking-form [autofocus], #booking-form input, #booking-form textarea");
        if (first) first.focus();
      }
    });
  });
})();
