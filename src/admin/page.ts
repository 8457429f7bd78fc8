// The admin page at GET /admin: one HTML document, its style and plain script inline, allowed
// by their SHA-256 in a strict Content-Security-Policy (no other script, style, frame, form
// target or connection than serve's own origin). The admin token comes in the URL fragment
// (`ccmux admin url`), moves to sessionStorage and leaves the address bar; every call to /api/*
// sends it as a bearer token. All data goes into the page as text, never as HTML.
import { createHash } from "node:crypto";

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0 auto; padding: 1em; max-width: 80em; }
h1 { font-size: 1.4em; margin: 0 0 .5em; }
h2 { font-size: 1.1em; margin: 1.5em 0 .5em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid #8884; vertical-align: top; }
td .actions { display: flex; gap: .4em; flex-wrap: wrap; }
button { font: inherit; padding: .25em .8em; cursor: pointer; }
input { font: inherit; padding: .25em; min-width: 12em; max-width: 100%; }
form { display: flex; gap: .5em; flex-wrap: wrap; align-items: center; margin: .5em 0; }
#status { min-height: 1.4em; }
.bad { color: #c22; }
pre { overflow-x: auto; font-size: .85em; background: #8881; padding: .5em; }
#live { font-size: .8em; opacity: .7; }
`;

const SCRIPT = `"use strict";
(function () {
  var KEY = "ccmux-admin-token";
  var m = /[#&]token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  var token = sessionStorage.getItem(KEY);
  var $ = function (id) { return document.getElementById(id); };
  var accounts = [];
  var flow = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (c) {
      var td = document.createElement("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined || c === null ? "" : String(c);
      tr.appendChild(td);
    });
    return tr;
  }
  function say(text, bad) {
    var s = $("status");
    s.textContent = text;
    s.className = bad ? "bad" : "";
  }
  function api(method, path, body) {
    var init = { method: method, headers: { authorization: "Bearer " + token } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.json().then(function (j) {
        if (!res.ok) throw new Error((j && j.error && j.error.message) || ("HTTP " + res.status));
        return j;
      });
    });
  }
  function duration(s) {
    var a = Math.abs(s);
    var out = a < 60 ? a + "s" : a < 3600 ? Math.floor(a / 60) + "m " + (a % 60) + "s"
      : a < 172800 ? Math.floor(a / 3600) + "h " + Math.floor((a % 3600) / 60) + "m"
      : Math.floor(a / 86400) + "d " + Math.floor((a % 86400) / 3600) + "h";
    return s >= 0 ? "in " + out : "expired " + out + " ago";
  }
  function windows(views) {
    if (!views || !views.length) return "";
    return views.map(function (v) {
      return v.windows.map(function (w) {
        var u = w.utilization === undefined ? (w.status || "?") : Math.round(w.utilization * 100) + " %";
        return w.name + " " + u + (w.resets_at ? " (resets " + new Date(w.resets_at).toLocaleString() + ")" : "");
      }).join(", ") + (v.exhausted_until ? " — exhausted until " + new Date(v.exhausted_until).toLocaleString() : "");
    }).join("; ");
  }
  function button(label, onClick) {
    var b = el("button", label);
    b.type = "button";
    b.addEventListener("click", function () {
      b.disabled = true;
      Promise.resolve(onClick()).catch(function (e) { say(e.message, true); })
        .then(function () { b.disabled = false; });
    });
    return b;
  }

  function renderAccounts() {
    var body = $("accounts");
    body.replaceChildren();
    if (!accounts.length) {
      var tr = row(["No accounts yet: sign in below."]);
      tr.firstChild.colSpan = 7;
      body.appendChild(tr);
    }
    accounts.forEach(function (a) {
      var exp = el("span", "", "expiry");
      exp.dataset.at = a.expires_at || "";
      var state = a.broken ? "broken: " + a.broken : a.needs_login ? "needs sign-in" : a.refreshable ? "ok" : "no refresh";
      var actions = el("span", "", "actions");
      actions.appendChild(button("Refresh", function () {
        return api("POST", "/api/oauth/tokens/" + encodeURIComponent(a.id) + "/refresh", {})
          .then(function () { say("Refreshed " + a.id + "."); return load(); });
      }));
      actions.appendChild(button("Sign out", function () {
        return api("DELETE", "/api/oauth/tokens/" + encodeURIComponent(a.id), {})
          .then(function (r) { say("Signed out of " + r.removed + (r.revoked ? " (revoked)." : ".")); return load(); });
      }));
      body.appendChild(row([a.id, (a.account && a.account.email) || "", a.kind || "?", exp, (a.scopes || []).join(" "), state + (a.quota ? " · " + windows(a.quota) : ""), actions]));
    });
    tick();
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".expiry").forEach(function (e) {
      var at = e.dataset.at;
      e.textContent = at ? duration(Math.floor((Date.parse(at) - now) / 1000)) : "no expiry";
    });
  }
  function renderProviders(list) {
    var body = $("providers");
    body.replaceChildren();
    list.forEach(function (p) {
      var state = p.state === "ok" ? "ok" : p.state.replace("_", " ") + " until " + new Date(p.until).toLocaleString();
      var err = p.last_error ? p.last_error.status + (p.last_error.error ? " " + p.last_error.error : "") + " at " + new Date(p.last_error.at).toLocaleTimeString() : "";
      body.appendChild(row([p.name, p.provider_type, p.enabled ? state : "disabled", err, p.recent_latency_ms === undefined ? "" : p.recent_latency_ms + " ms", p.quota ? windows([p.quota]) : ""]));
    });
  }
  function load() {
    return Promise.all([
      api("GET", "/api/oauth/tokens").then(function (j) { accounts = j.accounts; renderAccounts(); }),
      api("GET", "/api/providers").then(function (j) { renderProviders(j.providers); }),
      api("GET", "/api/config").then(function (j) { $("config").textContent = JSON.stringify(j, null, 2); }),
    ]);
  }

  function logRecord(r) {
    var body = $("log");
    var route = (r.model || "") + (r.provider ? " → " + r.provider + "/" + (r.upstream_model || r.model || "") : "");
    var tokens = r.input_tokens === undefined ? "" : r.input_tokens + " / " + (r.output_tokens === undefined ? "?" : r.output_tokens);
    var tr = row([new Date().toLocaleTimeString(), r.method + " " + r.path, route, r.status, r.duration_ms + " ms", tokens]);
    if (r.status >= 400) tr.className = "bad";
    body.insertBefore(tr, body.firstChild);
    while (body.childNodes.length > 200) body.removeChild(body.lastChild);
  }
  function events() {
    fetch("/api/events", { headers: { authorization: "Bearer " + token } }).then(function (res) {
      if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
      $("live").textContent = "live";
      var reader = res.body.getReader();
      var dec = new TextDecoder();
      var buf = "";
      function pump() {
        return reader.read().then(function (x) {
          if (x.done) throw new Error("closed");
          buf += dec.decode(x.value, { stream: true });
          var i;
          while ((i = buf.indexOf("\\n\\n")) >= 0) {
            var ev = buf.slice(0, i);
            buf = buf.slice(i + 2);
            var name = /^event: (.*)$/m.exec(ev);
            var data = /^data: (.*)$/m.exec(ev);
            if (name && data && name[1] === "request") logRecord(JSON.parse(data[1]));
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      $("live").textContent = "reconnecting…";
      setTimeout(events, 3000);
    });
  }

  $("signin").addEventListener("submit", function (e) {
    e.preventDefault();
    var id = $("account").value.trim();
    if (!id) return;
    api("POST", "/api/oauth/authorize", { provider_id: id }).then(function (f) {
      flow = { id: f.flow_id, account: id, known: accounts.map(function (a) { return a.id + a.expires_at; }).join() };
      var link = $("authlink");
      link.href = f.paste_url || f.url;
      link.textContent = "Open the sign-in page for " + id;
      $("loopbacklink").href = f.url;
      $("loopback").hidden = !f.paste_url;
      $("pastebox").hidden = false;
      window.open(f.paste_url || f.url, "_blank", "noopener");
      say("Sign in in the new tab, then paste the code it shows (or the address it ends on).");
    }).catch(function (err) { say(err.message, true); });
  });
  $("paste").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!flow) return;
    var code = $("code").value.trim();
    api("POST", "/api/oauth/exchange", { flow_id: flow.id, code: code }).then(function (a) {
      say("Signed in to " + a.id + ".");
      flow = null;
      $("code").value = "";
      $("pastebox").hidden = true;
      return load();
    }).catch(function (err) { say(err.message, true); });
  });

  if (!token) {
    say("No admin token: open the address 'ccmux admin url' prints.", true);
    return;
  }
  load().catch(function (e) { say(e.message, true); });
  events();
  setInterval(tick, 1000);
  setInterval(function () {
    if (!flow) return;
    api("GET", "/api/oauth/tokens").then(function (j) {
      var now = j.accounts.map(function (a) { return a.id + a.expires_at; }).join();
      if (now !== flow.known) {
        say("Signed in to " + flow.account + ".");
        flow = null;
        $("pastebox").hidden = true;
        load();
      }
    }).catch(function () {});
  }, 2000);
})();
`;

const BODY =
  `<header><h1>ccmux admin</h1><p id="status" role="status" aria-live="polite"></p></header>
<main>
<section aria-labelledby="h-accounts"><h2 id="h-accounts">Accounts</h2>
<div class="scroll"><table><thead><tr><th>Account</th><th>Email</th><th>Kind</th><th>Expires</th><th>Scopes</th><th>State</th><th>Actions</th></tr></thead><tbody id="accounts"></tbody></table></div>
<form id="signin"><label for="account">Account ID</label><input id="account" name="account" autocomplete="off" placeholder="claude-max" required><button type="submit">Sign in</button></form>
<div id="pastebox" hidden>
<p><a id="authlink" target="_blank" rel="noopener noreferrer">Open the sign-in page</a><span id="loopback" hidden> · or <a id="loopbacklink" target="_blank" rel="noopener noreferrer">sign in on this machine</a> (completes by itself)</span></p>
<form id="paste"><label for="code">Code</label><input id="code" name="code" autocomplete="off" placeholder="CODE#STATE or the address the browser ended on" required><button type="submit">Complete sign-in</button></form>
</div>
</section>
<section aria-labelledby="h-providers"><h2 id="h-providers">Providers</h2>
<div class="scroll"><table><thead><tr><th>Provider</th><th>Type</th><th>State</th><th>Last error</th><th>Latency</th><th>Quota</th></tr></thead><tbody id="providers"></tbody></table></div>
</section>
<section aria-labelledby="h-log"><h2 id="h-log">Requests <span id="live">connecting…</span></h2>
<div class="scroll"><table><thead><tr><th>Time</th><th>Request</th><th>Model → provider/model</th><th>Status</th><th>Duration</th><th>Tokens in / out</th></tr></thead><tbody id="log"></tbody></table></div>
</section>
<section aria-labelledby="h-config"><h2 id="h-config">Config (secrets hidden)</h2><pre id="config"></pre></section>
</main>`;

const hash = (s: string) => `'sha256-${createHash("sha256").update(s).digest("base64")}'`;

/** The page's Content-Security-Policy. */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>ccmux admin</title>
<style>${STYLE}</style>
</head><body>
${BODY}
<script>${SCRIPT}</script>
</body></html>
`;

/** The admin page's answer. */
export function adminPage(): Response {
  return new Response(HTML, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": PAGE_CSP,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "cross-origin-opener-policy": "same-origin",
    },
  });
}
