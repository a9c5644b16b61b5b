// The agent console's live feed: listens to /console/feed (Server-Sent Events, same-origin,
// the session cookie authenticates) and prepends each inbound call or SMS with the accounts
// its number matched to the #feed list, an aria-live region. Built with textContent only.
"use strict";
(function () {
  var list = document.getElementById("feed");
  var status = document.getElementById("feed-status");
  if (!list || !status || !window.EventSource) { return; }

  function el(tag, text) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function table(accounts) {
    var t = el("table");
    t.appendChild(el("caption", accounts.length + (accounts.length === 1 ? " account" : " accounts")));
    var head = el("thead"), hr = el("tr");
    ["User ID", "Name", "Email", "Connection", "Uses the number as", "MFA", "Blocked"].forEach(function (h) {
      var th = el("th", h); th.scope = "col"; hr.appendChild(th);
    });
    head.appendChild(hr); t.appendChild(head);
    var body = el("tbody");
    accounts.forEach(function (a) {
      var tr = el("tr");
      var id = el("th", a.user_id); id.scope = "row"; tr.appendChild(id);
      tr.appendChild(el("td", a.name || ""));
      tr.appendChild(el("td", a.email_masked || ""));
      tr.appendChild(el("td", a.connection || ""));
      tr.appendChild(el("td", (a.kinds || []).join(", ")));
      tr.appendChild(el("td", a.mfa_enrolled ? "yes (" + (a.mfa_methods || []).join(", ") + ")" : "no"));
      tr.appendChild(el("td", a.blocked ? "blocked" : "no"));
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function show(ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    var accounts = data.accounts || [];
    var li = el("li");
    var what = data.channel === "voice" ? "Call" : "SMS";
    var when = new Date(data.received_at);
    var head = el("p");
    head.appendChild(el("strong", what + " from " + data.number));
    head.appendChild(document.createTextNode(" at " + (isNaN(when) ? data.received_at : when.toLocaleTimeString())));
    li.appendChild(head);
    if (accounts.length === 0) {
      li.appendChild(el("p", "No account uses this number."));
    } else {
      li.appendChild(table(accounts));
    }
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 50) { list.removeChild(list.lastChild); }
  }

  status.textContent = "Connecting to the live feed…";
  var source = new EventSource(list.getAttribute("data-src"));
  source.addEventListener("open", function () { status.textContent = "Live: new calls and SMS appear below."; });
  source.addEventListener("error", function () { status.textContent = "Live feed disconnected; reconnecting…"; });
  source.addEventListener("inbound", show);
})();
