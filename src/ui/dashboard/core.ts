/**
 * The dashboard's shared helpers: building elements, calling the API with the session's token,
 * and formatting. Plain browser JS in a String.raw literal (no template literals inside), joined
 * with the other parts into /ui/app.js by ../dashboard-js.ts.
 */
export const CORE_JS = String.raw`
var KEY = "tether.token";
var app = document.getElementById("app");
var TERMINAL = ["succeeded", "failed", "cancelled", "timed_out", "orphaned"];

/** An element; attributes named on* become listeners; text goes in as text nodes, never as HTML. */
function el(tag, attrs, kids) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) {
    if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]); else e.setAttribute(k, attrs[k]);
  }
  (kids || []).forEach(function (c) { if (c !== null && c !== undefined && c !== false) e.append(c); });
  return e;
}
/** Replaces node's children with kids, leaving out null (replaceChildren would write "null"). */
function fill(node, kids) {
  node.replaceChildren.apply(node, kids.filter(function (k) { return k !== null && k !== undefined && k !== false; }));
  return node;
}
function table(id, heads, rows) {
  return el("table", id ? { id: id } : {}, [el("tr", {}, heads.map(function (h) { return el("th", {}, [h]); }))].concat(rows));
}
function cells(values) { return values.map(function (v) { return el("td", {}, [typeof v === "string" || typeof v === "number" ? String(v) : v]); }); }
function token() { return sessionStorage.getItem(KEY); }
function signOut() { sessionStorage.removeItem(KEY); route(); }
function withToken(init) {
  init = init || {};
  init.headers = Object.assign({ authorization: "Bearer " + token() }, init.headers || {});
  return init;
}
/** The API's JSON answer; a 401 forgets the token and goes back to sign-in; a problem is thrown with its detail. */
function api(path, init) {
  return fetch(path, withToken(init)).then(function (r) {
    if (r.status === 401) { signOut(); throw new Error("the token was refused"); }
    if (!r.ok) return r.json().then(function (p) { throw new Error(p.detail || r.statusText); }, function () { throw new Error(r.status + " " + r.statusText); });
    return r.status === 204 ? null : r.json();
  });
}
function send(method, path, body) {
  return api(path, { method: method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
}
function status(s) { return el("span", { class: "status " + s, "data-status": s }, [s]); }
function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
/** "in 4 min", "2 h ago": how far a time is from now. */
function relative(iso) {
  if (!iso) return "";
  var s = Math.round((Date.parse(iso) - Date.now()) / 1000), a = Math.abs(s);
  var t = a < 60 ? a + " s" : a < 3600 ? Math.round(a / 60) + " min" : a < 86400 ? Math.round(a / 3600) + " h" : Math.round(a / 86400) + " d";
  return s >= 0 ? "in " + t : t + " ago";
}
function json(v) { return el("pre", { class: "json" }, [JSON.stringify(v, null, 2)]); }
function fail(where) { return function (e) { if (e && e.name === "AbortError") return; where.replaceChildren(el("p", { class: "err" }, [String((e && e.message) || e)])); }; }
function runLink(id) { return el("a", { href: "#/runs/" + encodeURIComponent(id) }, [el("code", {}, [id])]); }
/** Calls load now and every ms while the page is open. */
function every(ms, signal, load) {
  load();
  var timer = setInterval(load, ms);
  signal.addEventListener("abort", function () { clearInterval(timer); });
}
`;
