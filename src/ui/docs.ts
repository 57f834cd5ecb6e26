/**
 * GET /docs: the OpenAPI document rendered as a page, with nothing from elsewhere (many users and
 * CI have no internet). The script fetches /v1/openapi.json (public) and lists each operation.
 * Plain ES5-ish without template literals: it lives inside a String.raw literal.
 */
export const DOCS_HTML = String.raw`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tether API reference</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/style.css"></head>
<body><header><h1>Tether API reference</h1><nav><a href="/">Dashboard</a><a href="/v1/openapi.json">openapi.json</a></nav></header>
<main id="docs"><p class="muted">Loading the document…</p></main>
<script src="/ui/docs.js"></script></body></html>`;

export const DOCS_JS = String.raw`
(function () {
  "use strict";
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    (kids || []).forEach(function (c) { e.append(c); });
    return e;
  }
  function schemaText(s) { return JSON.stringify(s, null, 2); }
  function render(doc) {
    var main = document.getElementById("docs");
    main.textContent = "";
    main.append(el("p", {}, [doc.info.description]));
    var byTag = {};
    Object.keys(doc.paths).sort().forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        (byTag[op.tags[0]] = byTag[op.tags[0]] || []).push({ path: path, method: method, op: op });
      });
    });
    doc.tags.forEach(function (t) {
      var ops = byTag[t.name];
      if (!ops) return;
      var sec = el("section", {}, [el("h2", {}, [t.name])]);
      ops.forEach(function (o) {
        var d = el("details", { class: "op", id: o.op.operationId });
        d.append(el("summary", {}, [el("span", { class: "method" }, [o.method.toUpperCase()]), el("code", {}, [o.path]), " — " + o.op.summary]));
        d.append(el("p", { class: "muted" }, [o.op.description + " operationId: " + o.op.operationId]));
        if (o.op.parameters) {
          var tb = el("table", {}, [el("tr", {}, [el("th", {}, ["parameter"]), el("th", {}, ["in"]), el("th", {}, ["schema"])])]);
          o.op.parameters.forEach(function (p) {
            tb.append(el("tr", {}, [el("td", {}, [el("code", {}, [p.name + (p.required ? "" : "?")])]), el("td", {}, [p.in]), el("td", {}, [el("code", {}, [JSON.stringify(p.schema)])])]));
          });
          d.append(tb);
        }
        if (o.op.requestBody) {
          var body = o.op.requestBody.content["application/json"];
          d.append(el("h4", {}, ["Request body" + (o.op.requestBody.required ? "" : " (optional)")]));
          if (body.examples) d.append(el("pre", { class: "example" }, [schemaText(body.examples.request.value)]));
          d.append(el("details", {}, [el("summary", {}, ["schema"]), el("pre", {}, [schemaText(body.schema)])]));
        }
        var rt = el("table", {}, [el("tr", {}, [el("th", {}, ["status"]), el("th", {}, ["answer"])])]);
        var example = null;
        Object.keys(o.op.responses).forEach(function (st) {
          var r = o.op.responses[st];
          var json = r.content && r.content["application/json"];
          if (!example && json && json.examples) example = { status: st, value: json.examples.answer.value };
          rt.append(el("tr", {}, [el("td", {}, [st]), el("td", {}, [r.description + (r.content ? " (" + Object.keys(r.content).join(", ") + ")" : "")])]));
        });
        d.append(rt);
        if (example) {
          d.append(el("h4", {}, ["Example answer (" + example.status + ")"]));
          d.append(el("pre", { class: "example" }, [schemaText(example.value)]));
        }
        sec.append(d);
      });
      main.append(sec);
    });
  }
  fetch("/v1/openapi.json").then(function (r) { return r.json(); }).then(render, function (e) {
    document.getElementById("docs").textContent = "Could not load /v1/openapi.json: " + e;
  });
})();
`;
