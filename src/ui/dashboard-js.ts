/**
 * The dashboard's script, served from /ui/app.js (the page's CSP runs no inline script).
 *
 * The token is pasted once and kept in sessionStorage (gone with the tab, never in a URL or a
 * cookie the browser would send by itself). Live output is read with fetch streaming, not
 * EventSource: EventSource cannot send an Authorization header. Written without template
 * literals, as it lives inside a String.raw literal.
 */
export const DASHBOARD_JS = String.raw`
(function () {
  "use strict";
  var KEY = "tether.token";
  var app = document.getElementById("app");
  var live = null; // the AbortController of the page's open streams and timers

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]); else e.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c !== null && c !== undefined) e.append(c); });
    return e;
  }
  function token() { return sessionStorage.getItem(KEY); }
  function api(path, init) {
    init = init || {};
    init.headers = Object.assign({ authorization: "Bearer " + token() }, init.headers || {});
    return fetch(path, init).then(function (r) {
      if (r.status === 401) { sessionStorage.removeItem(KEY); route(); throw new Error("the token was refused"); }
      if (!r.ok) return r.json().then(function (p) { throw new Error(p.detail || r.statusText); });
      return r.status === 204 ? null : r.json();
    });
  }
  function status(s) { return el("span", { class: "status " + s, "data-status": s }, [s]); }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
  function fail(where) { return function (e) { where.replaceChildren(el("p", { class: "err" }, [String(e.message || e)])); }; }

  function signIn() {
    var input = el("input", { type: "password", id: "token", placeholder: "tether token", autocomplete: "off", size: "60" });
    app.replaceChildren(el("section", {}, [
      el("h2", {}, ["Sign in"]),
      el("p", { class: "muted" }, ["Paste a workspace token (npm start keeps one in .tether/local.json; tether token create makes more). It stays in this tab's session storage."]),
      el("form", { id: "signin", onsubmit: function (ev) { ev.preventDefault(); if (input.value.trim()) { sessionStorage.setItem(KEY, input.value.trim()); route(); } } },
        [input, " ", el("button", { type: "submit" }, ["Sign in"])]),
    ]));
  }

  function agentsSection(signal) {
    var body = el("div", { id: "agents" }, [el("p", { class: "muted" }, ["Loading…"])]);
    function load() {
      api("/v1/agents?limit=200", { signal: signal }).then(function (page) {
        if (!page.agents.length) { body.replaceChildren(el("p", { class: "muted" }, ["No agents yet: tether agents create NAME"])); return; }
        var t = el("table", {}, [el("tr", {}, ["agent", "hosts", "queued", "running", "status"].map(function (h) { return el("th", {}, [h]); }))]);
        page.agents.forEach(function (a) {
          t.append(el("tr", { class: "link", "data-agent": a.name, onclick: function () { location.hash = "#/agents/" + encodeURIComponent(a.name); } }, [el("td", {}, [a.name]), el("td", {}, [String(a.hosts)]), el("td", {}, [String(a.queued)]), el("td", {}, [String(a.running)]),
            el("td", {}, [a.hosts > 0 ? "online" : el("span", { class: "muted" }, ["no host"])])]));
        });
        body.replaceChildren(t);
      }).catch(fail(body));
    }
    return { node: el("section", {}, [el("h2", {}, ["Agents"]), body]), load: load };
  }

  function runsSection(signal, filters) {
    var statusSel = el("select", { name: "status" }, [""].concat(["queued", "awaiting_approval", "running", "succeeded", "failed", "cancelled", "timed_out", "orphaned"]).map(function (s) {
      var o = el("option", { value: s }, [s || "any status"]); if (filters.status === s) o.selected = true; return o;
    }));
    var agent = el("input", { name: "agent", placeholder: "agent", value: filters.agent || "" });
    var label = el("input", { name: "label", placeholder: "label k=v,k2=v2", value: filters.label || "" });
    var body = el("div", { id: "runs" }, [el("p", { class: "muted" }, ["Loading…"])]);
    var form = el("form", { class: "filters", id: "filters", onsubmit: function (ev) { ev.preventDefault(); apply(); } },
      [statusSel, agent, label, el("button", { type: "submit" }, ["Filter"])]);
    statusSel.addEventListener("change", apply);
    function apply() {
      filters.status = statusSel.value; filters.agent = agent.value.trim(); filters.label = label.value.trim();
      load();
    }
    function load() {
      var q = new URLSearchParams({ limit: "50" });
      ["status", "agent", "label"].forEach(function (k) { if (filters[k]) q.set(k, filters[k]); });
      api("/v1/runs?" + q, { signal: signal }).then(function (page) {
        if (!page.runs.length) { body.replaceChildren(el("p", { class: "muted", id: "no-runs" }, ["No runs match."])); return; }
        var t = el("table", {}, [el("tr", {}, ["run", "agent", "status", "command", "created"].map(function (h) { return el("th", {}, [h]); }))]);
        page.runs.forEach(function (r) {
          t.append(el("tr", { class: "link run", "data-run": r.id, onclick: function () { location.hash = "#/runs/" + r.id; } },
            [el("td", {}, [el("code", {}, [r.id])]), el("td", {}, [r.agent]), el("td", {}, [status(r.status)]), el("td", {}, [el("code", {}, [r.argv.join(" ")])]), el("td", {}, [when(r.created_at)])]));
        });
        body.replaceChildren(t);
      }).catch(fail(body));
    }
    return { node: el("section", {}, [el("h2", {}, ["Runs"]), form, body]), load: load };
  }

  var filters = {};
  function home(signal) {
    var agents = agentsSection(signal), runs = runsSection(signal, filters);
    app.replaceChildren(agents.node, runs.node);
    // Lists are polled while the page is open: the index is eventually consistent, and this is cheap.
    function tick() { agents.load(); runs.load(); }
    tick();
    var timer = setInterval(tick, 2000);
    signal.addEventListener("abort", function () { clearInterval(timer); });
  }

  /** Reads a run's watch stream (SSE over fetch) and calls on(name, data) per event; resumes by Last-Event-ID. */
  function watch(id, signal, on) {
    var last = 0;
    function open() {
      var headers = last ? { "last-event-id": String(last) } : {};
      api.raw("/v1/runs/" + id + "/watch", { signal: signal, headers: headers }).then(function (r) {
        if (r.status === 204 || !r.body) return; // ended and all heard
        var reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        var buf = "";
        function pump() {
          return reader.read().then(function (x) {
            if (x.done) return open(); // the server closed: resume after the last event
            buf += x.value;
            var i;
            while ((i = buf.indexOf("\n\n")) >= 0) {
              var block = buf.slice(0, i); buf = buf.slice(i + 2);
              var ev = { event: "message", data: "" };
              block.split("\n").forEach(function (line) {
                var c = line.indexOf(":"); if (c <= 0) return;
                var f = line.slice(0, c), v = line.slice(c + 1).replace(/^ /, "");
                if (f === "id") last = Number(v); else if (f === "event") ev.event = v; else if (f === "data") ev.data += v;
              });
              if (ev.data) on(ev.event, JSON.parse(ev.data));
            }
            return pump();
          });
        }
        return pump();
      }).catch(function (e) { if (!signal.aborted) setTimeout(open, 1000); });
    }
    open();
  }
  api.raw = function (path, init) {
    init.headers = Object.assign({ authorization: "Bearer " + token() }, init.headers || {});
    return fetch(path, init);
  };

  function runPage(id, signal) {
    var head = el("div", { id: "run-head" }, [el("p", { class: "muted" }, ["Loading…"])]);
    var out = el("pre", { id: "output" });
    var events = el("table", { id: "events" }, [el("tr", {}, [el("th", {}, ["at"]), el("th", {}, ["event"]), el("th", {}, ["detail"])])]);
    app.replaceChildren(el("p", {}, [el("a", { href: "#/" }, ["← runs"])]), head, el("h3", {}, ["Output"]), out, el("h3", {}, ["Events"]), events);
    function showRun(r) {
      var cancel = el("button", { id: "cancel", onclick: function () { api("/v1/runs/" + id + "/cancel", { method: "POST" }).then(showRun, fail(head)); } }, ["Cancel"]);
      head.replaceChildren(el("h2", {}, [el("code", {}, [r.id]), " ", status(r.status)]),
        el("p", {}, [el("code", {}, [r.argv.join(" ")])]),
        el("p", { class: "muted" }, ["agent " + r.agent + " · attempt " + r.attempt + " · created " + when(r.created_at) + (r.exit_code !== null ? " · exit " + r.exit_code : "") + (r.error ? " · " + r.error : "")]),
        r.approval ? el("p", { id: "approval" }, ["approval " + r.approval.state + ": " + r.approval.reason + (r.approval.note ? " (" + r.approval.note + ")" : "")]) : null,
        r.status === "awaiting_approval" ? decide("approve") : null,
        r.status === "awaiting_approval" ? decide("deny") : null,
        ["succeeded", "failed", "cancelled", "timed_out", "orphaned"].indexOf(r.status) < 0 ? cancel : null);
    }
    /** Approve or deny a run held for a person (the token needs runs:approve; a refusal is shown). */
    function decide(what) {
      return el("button", { id: what, onclick: function () { api("/v1/runs/" + id + "/" + what, { method: "POST" }).then(showRun, fail(head)); } }, [what === "approve" ? "Approve" : "Deny"]);
    }
    api("/v1/runs/" + id, { signal: signal }).then(showRun).catch(fail(head));
    var follow = true;
    out.addEventListener("scroll", function () { follow = out.scrollTop + out.clientHeight >= out.scrollHeight - 4; });
    watch(id, signal, function (name, d) {
      if (name === "output") {
        var text = d.text !== undefined ? d.text : new TextDecoder().decode(Uint8Array.from(atob(d.data), function (ch) { return ch.charCodeAt(0); }));
        out.append(d.stream === "stderr" ? el("span", { class: "stderr" }, [text]) : document.createTextNode(text));
        if (follow) out.scrollTop = out.scrollHeight;
      } else if (name === "event") {
        var rest = Object.assign({}, d); delete rest.type; delete rest.at;
        events.append(el("tr", { "data-event": d.type }, [el("td", {}, [when(d.at)]), el("td", {}, [d.type]), el("td", {}, [el("code", {}, [JSON.stringify(rest)])])]));
      } else if (name === "state" && d.status) {
        api("/v1/runs/" + id, { signal: signal }).then(showRun).catch(function () {});
      }
    });
  }

  /** An agent's status: its hosts (slots, busy, policy), why its queued runs wait, what runs now. */
  function agentPage(name, signal) {
    var body = el("div", { id: "agent" }, [el("p", { class: "muted" }, ["Loading…"])]);
    app.replaceChildren(el("p", {}, [el("a", { href: "#/" }, ["← agents and runs"])]), el("h2", {}, ["Agent ", el("code", {}, [name])]), body);
    function load() {
      api("/v1/agents/" + encodeURIComponent(name) + "/status", { signal: signal }).then(function (st) {
        var hosts = el("table", { id: "hosts" }, [el("tr", {}, ["host", "hostname", "slots", "busy", "policy", "version", "last heard"].map(function (h) { return el("th", {}, [h]); }))]);
        st.hosts.forEach(function (h) {
          var policy = h.policy ? "security " + h.policy.security + ", sandbox " + h.policy.sandbox + ", ask " + h.policy.ask + (h.policy.network ? "" : ", no network") : "";
          hosts.append(el("tr", { "data-host": h.host_id }, [el("td", {}, [el("code", {}, [h.host_id])]), el("td", {}, [h.hostname]), el("td", {}, [String(h.slots)]),
            el("td", {}, [String(h.busy) + (h.draining ? " (draining)" : "")]), el("td", {}, [policy]), el("td", {}, [h.version]), el("td", {}, [when(h.last_heard_at)])]));
        });
        var waiting = st.queue.waiting.map(function (w) { return el("li", {}, [w.runs + " waiting: " + w.reason]); });
        body.replaceChildren(
          el("h3", {}, ["Hosts"]), st.hosts.length ? hosts : el("p", { class: "muted" }, ["No host is connected: start one with tether-agent."]),
          el("h3", {}, ["Queue"]), el("p", { id: "queue" }, [st.queue.depth + " queued" + (st.queue.oldest_age_ms !== null ? ", the oldest for " + Math.round(st.queue.oldest_age_ms / 1000) + " s" : "")]),
          waiting.length ? el("ul", {}, waiting) : null,
          el("p", { class: "muted" }, ["p50 wait " + (st.p50_wait_ms === null ? "-" : st.p50_wait_ms + " ms") + " · p50 run " + (st.p50_run_ms === null ? "-" : st.p50_run_ms + " ms")]));
      }).catch(fail(body));
    }
    load();
    var timer = setInterval(load, 2000);
    signal.addEventListener("abort", function () { clearInterval(timer); });
  }

  function route() {
    if (live) live.abort();
    live = new AbortController();
    var signed = !!token();
    document.getElementById("signout").hidden = !signed;
    if (!signed) return signIn();
    var m = /^#\/runs\/([^/]+)$/.exec(location.hash);
    var a = /^#\/agents\/([^/]+)$/.exec(location.hash);
    if (m) runPage(decodeURIComponent(m[1]), live.signal);
    else if (a) agentPage(decodeURIComponent(a[1]), live.signal);
    else home(live.signal);
  }
  document.getElementById("signout").addEventListener("click", function (ev) { ev.preventDefault(); sessionStorage.removeItem(KEY); route(); });
  window.addEventListener("hashchange", route);
  route();
})();
`;
