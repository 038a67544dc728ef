// The sign-in screen refreshes itself: it asks for the current code every few seconds, and at
// once when the code turns over, so nobody has to ask for a new one.  No QR is drawn here: the
// server sends it as an image (the page's CSP allows data: images), never a fixed one.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var url = board.getAttribute("data-poll-url");
  var every = Math.max(2, parseInt(board.getAttribute("data-poll"), 10) || 5) * 1000;
  var left = parseInt(document.getElementById("left").textContent, 10);
  var timer = null;

  function show(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }

  function apply(state) {
    var qr = document.getElementById("qr");
    if (state.qr) {
      if (qr.getAttribute("src") !== state.qr) { qr.setAttribute("src", state.qr); }
      qr.hidden = false;
    } else {
      qr.hidden = true;
    }
    show("code", state.code || "——————");
    show("code-again", state.code || "六位数字");
    var note = document.getElementById("note");
    note.textContent = state.note || "";
    note.hidden = !state.note;
    document.getElementById("turns").hidden = state.seconds_left === null;
    left = state.seconds_left === null ? NaN : state.seconds_left;
    show("left", isNaN(left) ? "" : String(left));
    show("present", String(state.present));
    show("expected", String(state.expected));
  }

  function poll() {
    clearTimeout(timer);
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (resp) {
        if (!resp.ok) { throw new Error(String(resp.status)); }
        return resp.json();
      })
      .then(apply)
      .catch(function () {
        var note = document.getElementById("note");
        note.textContent = "网络不通，正在重试……";
        note.hidden = false;
      })
      .then(function () { timer = setTimeout(poll, every); });
  }

  // The countdown each second; when it reaches zero the new code is fetched at once.
  setInterval(function () {
    if (isNaN(left)) { return; }
    left -= 1;
    if (left <= 0) { left = NaN; poll(); return; }
    show("left", String(left));
  }, 1000);
  timer = setTimeout(poll, every);
})();
