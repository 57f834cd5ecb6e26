/**
 * The schedules page: each schedule's cron and zone, its command, its next fire time (and, on
 * request, the next five), its last run, and Pause / Resume (PATCH enabled: a paused schedule
 * has no next fire time). Refreshed every 5 s.
 */
export const SCHEDULES_PAGE_JS = String.raw`
function schedulesPage(signal, params) {
  var agent = params.get("agent") || "";
  var body = el("div", { id: "schedules" }, [el("p", { class: "muted" }, ["Loading…"])]);
  app.replaceChildren(el("h2", {}, ["Schedules" + (agent ? " of " + agent : "")]), body);
  function toggle(s) {
    return el("button", { type: "button", class: s.enabled ? "pause" : "resume", onclick: function (ev) {
      ev.stopPropagation();
      send("PATCH", "/v1/schedules/" + encodeURIComponent(s.id), { enabled: !s.enabled }).then(load, fail(body));
    } }, [s.enabled ? "Pause" : "Resume"]);
  }
  function upcoming(s, where) {
    return el("a", { href: "#", class: "upcoming", onclick: function (ev) {
      ev.preventDefault();
      api("/v1/schedules/" + encodeURIComponent(s.id) + "/preview?count=5", { signal: signal }).then(function (p) {
        where.replaceChildren(el("ul", { class: "times" }, p.times.map(function (t) { return el("li", {}, [when(t) + " (" + relative(t) + ")"]); })));
      }).catch(fail(where));
    } }, ["next 5"]);
  }
  function row(s) {
    var times = el("div", {});
    var next = s.next_run_at ? el("span", { class: "next", title: s.next_run_at }, [when(s.next_run_at) + " (" + relative(s.next_run_at) + ")"]) : el("span", { class: "muted" }, [s.enabled ? "none" : "paused"]);
    return el("tr", { "data-schedule": s.id, "data-enabled": String(s.enabled) }, cells([
      el("code", {}, [s.id]), s.agent, el("code", { class: "nowrap" }, [s.cron + (s.timezone !== "UTC" ? " " + s.timezone : "")]),
      el("code", {}, [s.run.argv ? s.run.argv.join(" ") : (s.run.runner || "")]),
      el("div", {}, [next, " ", s.enabled ? upcoming(s, times) : null, times]),
      s.last_run_id ? el("span", {}, [runLink(s.last_run_id), " ", s.last_status ? status(s.last_status) : null]) : el("span", { class: "muted" }, ["never"]),
      el("span", {}, [s.fires + " fired, " + s.skips + " skipped", " · ", el("a", { href: "#/?schedule=" + encodeURIComponent(s.id) }, ["runs"])]),
      toggle(s)]));
  }
  var open = {};
  function load() {
    var q = new URLSearchParams({ limit: "200" });
    if (agent) q.set("agent", agent);
    api("/v1/schedules?" + q, { signal: signal }).then(function (page) {
      // A list of next times someone opened stays open across the refresh.
      body.querySelectorAll("tr[data-schedule] ul.times").forEach(function (u) { open[u.closest("tr").getAttribute("data-schedule")] = u; });
      body.replaceChildren(page.schedules.length ? table(null, ["schedule", "agent", "cron", "command", "next fire", "last run", "fires", ""], page.schedules.map(function (s) {
        var r = row(s);
        if (open[s.id] && s.enabled) r.querySelector("td:nth-child(5) div > div").replaceChildren(open[s.id]);
        return r;
      })) : el("p", { class: "muted" }, ["No schedules: tether schedules create AGENT --cron '*/5 * * * *' -- COMMAND"]));
    }).catch(fail(body));
  }
  every(5000, signal, load);
}
`;
