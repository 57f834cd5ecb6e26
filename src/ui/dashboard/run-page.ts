/**
 * A run's page: its head (command, status, attempt, exit, error) with Cancel while it is live
 * and Approve / Deny while a person is asked; its output, live; its result; its inputs (the
 * named inputs it was given and, for a run taking live input, a box to send more and what this
 * page sent); its children (runs its job submitted); and its events as they happen.
 */
export const RUN_PAGE_JS = String.raw`
function runPage(id, signal) {
  var head = el("div", { id: "run-head" }, [el("p", { class: "muted" }, ["Loading…"])]);
  var result = el("div", { id: "result" });
  var inputs = el("div", { id: "inputs" });
  var children = el("div", { id: "children" }, [el("p", { class: "muted" }, ["Loading…"])]);
  var log = logView();
  var events = table("events", ["at", "event", "detail"], []);
  var sent = [];
  var run = null;
  app.replaceChildren(el("p", {}, [el("a", { href: "#/" }, ["← runs"])]), head,
    el("h3", {}, ["Output"]), log.node,
    el("div", { class: "cols" }, [
      el("section", {}, [el("h3", {}, ["Result"]), result]),
      el("section", {}, [el("h3", {}, ["Inputs"]), inputs]),
    ]),
    el("h3", {}, ["Children"]), children,
    el("h3", {}, ["Events"]), events);

  function button(what, label) {
    return el("button", { id: what, type: "button", onclick: function () { send("POST", "/v1/runs/" + encodeURIComponent(id) + "/" + what).then(show, fail(head)); } }, [label]);
  }
  function show(r) {
    run = r;
    var live = TERMINAL.indexOf(r.status) < 0;
    fill(head, [el("h2", {}, [el("code", {}, [r.id]), " ", status(r.status)]),
      el("p", {}, [el("code", { id: "argv" }, [r.argv.join(" ")])]),
      el("p", { class: "muted" }, ["agent " + r.agent + " · attempt " + r.attempt + " · created " + when(r.created_at) +
        (r.started_at ? " · started " + when(r.started_at) : "") + (r.ended_at ? " · ended " + when(r.ended_at) : "") +
        (r.exit_code !== null ? " · exit " + r.exit_code : "") + (r.signal ? " · " + r.signal : "") + (r.error ? " · " + r.error : "")]),
      r.parent_run_id ? el("p", {}, ["child of ", runLink(r.parent_run_id)]) : null,
      r.schedule_id ? el("p", { class: "muted" }, ["fired by schedule " + r.schedule_id + (r.scheduled_for ? " for " + when(r.scheduled_for) : "")]) : null,
      r.approval ? el("p", { id: "approval" }, ["approval " + r.approval.state + ": " + r.approval.reason + (r.approval.note ? " (" + r.approval.note + ")" : "")]) : null,
      el("p", { class: "actions" }, [
        r.status === "awaiting_approval" ? button("approve", "Approve") : null,
        r.status === "awaiting_approval" ? button("deny", "Deny") : null,
        live ? button("cancel", "Cancel") : null])]);
    result.replaceChildren(r.result !== null ? json(r.result) : el("p", { class: "muted" }, [live ? "None yet: a job returns one by writing JSON to $TETHER_RESULT_PATH." : "None."]));
    showInputs(r, live);
  }
  function showInputs(r, live) {
    var names = Object.keys(r.inputs || {});
    var kids = [names.length ? table("named-inputs", ["name", "value"], names.map(function (k) { return el("tr", {}, cells([el("code", {}, [k]), el("code", {}, [JSON.stringify(r.inputs[k])])])); }))
      : el("p", { class: "muted" }, ["No named inputs."])];
    if (r.stdin_pipe) {
      kids.push(el("p", { class: "muted" }, [live ? "Its stdin is open for live input:" : "It took live input on its stdin."]));
      if (live) {
        var box = el("input", { id: "input-text", placeholder: "a line for its stdin", size: "30" });
        var eof = el("input", { type: "checkbox", id: "input-eof" });
        kids.push(el("form", { id: "input-form", class: "filters", onsubmit: function (ev) {
          ev.preventDefault();
          var body = { data: box.value ? box.value + "\n" : "" };
          if (eof.checked) body.eof = true;
          send("POST", "/v1/runs/" + encodeURIComponent(id) + "/input", body).then(function (a) {
            sent.push({ at: new Date().toISOString(), text: body.data, eof: !!body.eof, state: a.state || "sent" });
            box.value = ""; showInputs(run, TERMINAL.indexOf(run.status) < 0);
          }, fail(inputs));
        } }, [box, el("label", {}, [eof, " then close it"]), el("button", { type: "submit" }, ["Send"])]));
      }
      if (sent.length) kids.push(table("sent-inputs", ["sent", "data", "state"], sent.map(function (s) {
        return el("tr", {}, cells([when(s.at), el("code", {}, [JSON.stringify(s.text) + (s.eof ? " + end of input" : "")]), s.state]));
      })));
    }
    fill(inputs, kids);
  }
  function loadRun() { return api("/v1/runs/" + encodeURIComponent(id), { signal: signal }).then(show).catch(fail(head)); }
  function loadChildren() {
    api("/v1/runs?" + new URLSearchParams({ parent: id, limit: "50" }), { signal: signal }).then(function (page) {
      children.replaceChildren(page.runs.length ? runsTable(page.runs) : el("p", { class: "muted" }, ["None: runs its job submits with its TETHER_TOKEN show here."]));
    }).catch(fail(children));
  }
  loadRun();
  every(3000, signal, loadChildren);
  watch(id, signal, function (name, d) {
    if (name === "output") log.push(d);
    else if (name === "event") {
      var rest = Object.assign({}, d); delete rest.type; delete rest.at;
      events.append(el("tr", { "data-event": d.type }, cells([when(d.at), d.type, el("code", {}, [JSON.stringify(rest)])])));
    } else if (name === "state" && d.status) loadRun();
  });
}
`;
