/** An agent's page: its hosts (slots, busy, policy, version, last heard), its queue and why runs wait. */
export const AGENT_PAGE_JS = String.raw`
function agentPage(name, signal) {
  var body = el("div", { id: "agent" }, [el("p", { class: "muted" }, ["Loading…"])]);
  app.replaceChildren(el("p", {}, [el("a", { href: "#/" }, ["← agents and runs"])]), el("h2", {}, ["Agent ", el("code", {}, [name])]), body);
  every(2000, signal, function () {
    api("/v1/agents/" + encodeURIComponent(name) + "/status", { signal: signal }).then(function (st) {
      var hosts = table("hosts", ["host", "hostname", "slots", "busy", "policy", "version", "last heard"], st.hosts.map(function (h) {
        var policy = h.policy ? "security " + h.policy.security + ", sandbox " + h.policy.sandbox + ", ask " + h.policy.ask + (h.policy.network ? "" : ", no network") : "";
        return el("tr", { "data-host": h.host_id }, cells([el("code", {}, [h.host_id]), h.hostname, h.slots, String(h.busy) + (h.draining ? " (draining)" : ""), policy, h.version, when(h.last_heard_at)]));
      }));
      var waiting = st.queue.waiting.map(function (w) { return el("li", {}, [w.runs + " waiting: " + w.reason]); });
      fill(body, [
        el("h3", {}, ["Hosts"]), st.hosts.length ? hosts : el("p", { class: "muted" }, ["No host is connected: start one with tether-agent."]),
        el("h3", {}, ["Queue"]), el("p", { id: "queue" }, [st.queue.depth + " queued" + (st.queue.oldest_age_ms !== null ? ", the oldest for " + Math.round(st.queue.oldest_age_ms / 1000) + " s" : "") + (st.queue.awaiting_approval ? ", " + st.queue.awaiting_approval + " awaiting approval" : "")]),
        waiting.length ? el("ul", {}, waiting) : null,
        el("p", { class: "muted" }, ["p50 wait " + (st.p50_wait_ms === null ? "-" : st.p50_wait_ms + " ms") + " · p50 run " + (st.p50_run_ms === null ? "-" : st.p50_run_ms + " ms")]),
        el("p", {}, [el("a", { href: "#/?agent=" + encodeURIComponent(name) }, ["its runs"]), " · ", el("a", { href: "#/schedules?agent=" + encodeURIComponent(name) }, ["its schedules"])])]);
    }).catch(fail(body));
  });
}
`;
