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
  /* The server draws the week (the viewer's own bookings, blocks across midnight, always-closed hours left
     out), so a change fetches the table again (/instruments/<id>/week/) rather than painting it here. */
  var picked = null;  // data-start of the free cell last clicked, marked again after a redraw

  function redrawWeek() {
    var table = document.getElementById("week");
    if (!table) return;
    if (!window.htmx) { location.reload(); return; }
    var url = table.dataset.refresh + "&day=" + encodeURIComponent(dayOf(table));
    window.htmx.ajax("GET", url, { target: "#week-wrap", swap: "outerHTML" });
  }

  function dayOf(table) {
    var link = document.querySelector('#day-nav a[data-col="' + table.dataset.show + '"]');
    var m = link && /day=([0-9-]+)/.exec(link.getAttribute("href"));
    return m ? m[1] : "";
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
    var status = document.getElementById("live-status");
    function subscribe(socket) {
      socket.send(JSON.stringify({ type: "subscribe", instruments: [id], start: table.dataset.start, end: table.dataset.end }));
    }
    connect("/ws/availability/", {
      open: function (socket) { subscribe(socket); },
      message: function (msg, socket) {
        if (msg.instrument !== id) return;
        if (msg.type === "snapshot") {
          setStatus("open", status && status.dataset.msgOpen);
          if (msg.version !== version) { version = msg.version; redrawWeek(); }
          refreshBadge();
        } else if (msg.type === "update") {
          if (msg.version <= version) return;          // already seen
          if (msg.version > version + 1) { subscribe(socket); return; }  // missed one: start afresh
          version = msg.version;
          redrawWeek();
          refreshBadge();
        }
      },
      close: function () { setStatus("closed", status && status.dataset.msgClosed); }
    });
  }

  /* On a phone the week is one day at a time (CSS shows the column named by data-show); the day links work
     without JavaScript too, as plain links. */
  function showDay(col) {
    var table = document.getElementById("week");
    if (!table) return;
    table.dataset.show = col;
    var links = document.querySelectorAll("#day-nav a[data-col]");
    for (var i = 0; i < links.length; i++) {
      if (links[i].dataset.col === String(col)) links[i].setAttribute("aria-current", "date");
      else links[i].removeAttribute("aria-current");
    }
  }

  /* A tapped free cell fills the form; the form then comes into view with the cursor in it, also on a
     phone where it sits below the calendar. */
  function showForm() {
    var form = document.getElementById("booking-form");
    if (!form) return;
    var top = form.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.4) form.scrollIntoView({ block: "start" });
    var first = form.querySelector("[autofocus], input:not([type=hidden]), textarea, select");
    if (first) first.focus({ preventScroll: true });
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
    document.body.addEventListener("click", function (ev) {
      if (!ev.target.closest) return;
      var day = ev.target.closest("#day-nav a[data-col]");
      if (day) { ev.preventDefault(); showDay(day.dataset.col); return; }
      // A clicked free cell shows where the form now points.
      var a = ev.target.closest("#week td.free a");
      if (!a) return;
      var old = document.querySelector("#week td.picked");
      if (old) old.classList.remove("picked");
      a.parentNode.classList.add("picked");
      picked = a.parentNode.dataset.start;
    });
    document.body.addEventListener("htmx:afterSwap", function (ev) {
      var target = ev.detail.target;
      if (!target) return;
      if (target.id === "booking-form") showForm();
      if (target.id === "week-wrap" && picked) {
        var cell = document.querySelector('#week td.free[data-start="' + picked + '"]');
        if (cell) cell.classList.add("picked");
      }
    });
  });
})();
