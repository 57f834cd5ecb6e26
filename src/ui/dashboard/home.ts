/**
 * The home page: agents (hosts online, queued, running) and runs, newest first from the index,
 * with the filters of `tether ls` (status, agent, label, schedule, parent, since, before, command
 * prefix). The filters live in the URL's fragment (#/?status=failed), so a filtered list can be
 * linked to; the token never does. Both lists refresh every 2 s: the index is eventually
 * consistent, and a read is cheap.
 */
export const HOME_JS = String.raw`
var STATUSES = ["queued", "awaiting_approval", "running", "succeeded", "failed", "cancelled", "timed_out", "orphaned"];
var FILTERS = ["status", "agent", "label", "schedule", "parent", "since", "before", "q"];

function agentsSection(signal) {
  var body = el("div", { id: "agents" }, [el("p", { class: "muted" }, ["Loading…"])]);
  function load() {
    api("/v1/agents?limit=200", { signal: signal }).then(function (page) {
      if (!page.agents.length) { body.replaceChildren(el("p", { class: "muted" }, ["No agents yet: tether agents create NAME"])); return; }
      body.replaceChildren(table(null, ["agent", "hosts", "queued", "running", "status"], page.agents.map(function (a) {
        return el("tr", { class: "link", "data-agent": a.name, onclick: function () { location.hash = "#/agents/" + encodeURIComponent(a.name); } },
          cells([a.name, a.hosts, a.queued, a.running, a.hosts > 0 ? el("span", { class: "online" }, ["online"]) : el("span", { class: "muted" }, ["no host"])]));
      })));
    }).catch(fail(body));
  }
  return { node: el("section", {}, [el("h2", {}, ["Agents"]), body]), load: load };
}

/** "2h", "3d", "45m" or an ISO time, as the API's created_after. */
function since(v) {
  var m = /^(\d+)\s*(s|m|h|d)$/.exec(v);
  if (!m) return new Date(v).toISOString();
  return new Date(Date.now() - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2]]).toISOString();
}

function runsQuery(f, cursor) {
  var q = new URLSearchParams({ limit: "50" });
  ["status", "agent", "label", "schedule", "parent", "q"].forEach(function (k) { if (f[k]) q.set(k, f[k]); });
  if (f.since) q.set("created_after", since(f.since));
  if (f.before) q.set("created_before", new Date(f.before).toISOString());
  if (cursor) q.set("cursor", cursor);
  return q;
}

function runRow(r) {
  var cmd = r.argv.join(" ");
  return el("tr", { class: "link run", "data-run": r.id, onclick: function () { location.hash = "#/runs/" + encodeURIComponent(r.id); } },
    cells([el("code", {}, [r.id]), r.agent, status(r.status), el("code", { title: cmd }, [cmd.length > 120 ? cmd.slice(0, 120) + "…" : cmd]), el("span", { title: when(r.created_at) }, [relative(r.created_at)])]));
}
function runsTable(runs) { return table(null, ["run", "agent", "status", "command", "created"], runs.map(runRow)); }

function runsSection(signal, f) {
  var statusSel = el("select", { name: "status" }, [""].concat(STATUSES).map(function (s) {
    var o = el("option", { value: s }, [s || "any status"]); if (f.status === s) o.selected = true; return o;
  }));
  function field(name, hint, size) { return el("input", { name: name, placeholder: hint, value: f[name] || "", size: size || "12" }); }
  var inputs = [field("agent", "agent"), field("label", "label k=v,k2=v2", "16"), field("q", "command starts with", "18"), field("since", "since 2h, 3d or a time", "18"),
    field("before", "before a time"), field("schedule", "schedule id"), field("parent", "parent run")];
  var body = el("div", { id: "runs" }, [el("p", { class: "muted" }, ["Loading…"])]);
  var more = el("button", { id: "more", type: "button", hidden: "" }, ["Older runs"]);
  var form = el("form", { class: "filters", id: "filters", onsubmit: function (ev) { ev.preventDefault(); apply(); } },
    [statusSel].concat(inputs, [el("button", { type: "submit" }, ["Filter"]), el("a", { href: "#/" }, ["clear"])]));
  statusSel.addEventListener("change", apply);
  function apply() {
    var q = new URLSearchParams();
    if (statusSel.value) q.set("status", statusSel.value);
    inputs.forEach(function (i) { if (i.value.trim()) q.set(i.name, i.value.trim()); });
    location.hash = "#/?" + q;
  }
  var cursor = null, older = [];
  more.addEventListener("click", function () {
    api("/v1/runs?" + runsQuery(f, cursor), { signal: signal }).then(function (page) {
      older = older.concat(page.runs); cursor = page.next_cursor; more.hidden = !cursor;
      var t = body.querySelector("table"); page.runs.forEach(function (r) { t.append(runRow(r)); });
    }).catch(fail(body));
  });
  function load() {
    if (older.length) return; // the reader is paging back: the first page stays as it was
    var q;
    try { q = runsQuery(f); } catch (e) { body.replaceChildren(el("p", { class: "err" }, ["a time filter is not a time: " + e.message])); return; }
    api("/v1/runs?" + q, { signal: signal }).then(function (page) {
      cursor = page.next_cursor; more.hidden = !cursor;
      body.replaceChildren(page.runs.length ? runsTable(page.runs) : el("p", { class: "muted", id: "no-runs" }, ["No runs match."]));
    }).catch(fail(body));
  }
  return { node: el("section", {}, [el("h2", {}, ["Runs"]), form, body, more]), load: load };
}

function home(signal, params) {
  var f = {};
  FILTERS.forEach(function (k) { if (params.get(k)) f[k] = params.get(k); });
  var agents = agentsSection(signal), runs = runsSection(signal, f);
  app.replaceChildren(agents.node, runs.node);
  every(2000, signal, function () { agents.load(); runs.load(); });
}
`;
