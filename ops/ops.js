// The operator console's day: every few seconds, fetch this same page and put its board
// in place of ours, so that check-ins, check-outs and no-shows show without a reload. The
// page works without it (its "refresh" link). Nothing else is done here.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || board.getAttribute("data-live") !== "true" || !window.fetch || !window.DOMParser) return;
  var every = 4000;
  var busy = false;
  function tick() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        var now = document.getElementById("board");
        if (fresh && now) {
          now.replaceWith(fresh);
          document.documentElement.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  setInterval(tick, every);
  document.addEventListener("visibilitychange", tick);
})();
