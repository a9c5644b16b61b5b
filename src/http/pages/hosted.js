// The hosted login's progressive enhancements (every page works without them):
// - `data-countdown` buttons stay disabled for that many seconds, saying how long is left;
// - forms with `data-autosubmit` submit themselves (response_mode=form_post);
// - `#web-message` posts the authorization response to the window that framed this page
//   (response_mode=web_message, Auth0's silent authentication), to that origin only.
"use strict";
(function () {
  function countdowns() {
    document.querySelectorAll("button[data-countdown]").forEach(function (b) {
      var left = parseInt(b.getAttribute("data-countdown"), 10) || 0;
      var label = b.getAttribute("data-label");
      var wait = b.getAttribute("data-wait") || label;
      function tick() {
        if (left <= 0) {
          b.disabled = false;
          b.textContent = label;
          return;
        }
        b.disabled = true;
        b.textContent = wait.replace("{n}", String(left));
        left -= 1;
        setTimeout(tick, 1000);
      }
      tick();
    });
  }
  function autosubmit() {
    var f = document.querySelector("form[data-autosubmit]");
    if (f) f.submit();
  }
  function webMessage() {
    var el = document.getElementById("web-message");
    if (!el) return;
    var origin = el.getAttribute("data-origin");
    var response = JSON.parse(el.getAttribute("data-response"));
    var target = window.parent !== window ? window.parent : window.opener;
    if (target && origin) {
      target.postMessage({ type: "authorization_response", response: response }, origin);
    }
  }
  function start() {
    countdowns();
    autosubmit();
    webMessage();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
