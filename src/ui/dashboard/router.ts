/**
 * Sign-in and the page router. The token is pasted once and kept in sessionStorage: gone with
 * the tab, never in a URL, and not a cookie the browser would send by itself. Pages are named by
 * the URL's fragment: #/ (agents and runs, filters after ?), #/runs/ID, #/agents/NAME,
 * #/schedules. Leaving a page aborts its streams and timers.
 */
export const ROUTER_JS = String.raw`
var live = null; // the AbortController of the open page's streams and timers

function signIn() {
  var input = el("input", { type: "password", id: "token", placeholder: "tether token", autocomplete: "off", size: "60" });
  app.replaceChildren(el("section", {}, [
    el("h2", {}, ["Sign in"]),
    el("p", { class: "muted" }, ["Paste a workspace token (npm start keeps one in .tether/local.json; tether token create makes more). It stays in this tab's session storage."]),
    el("form", { id: "signin", onsubmit: function (ev) { ev.preventDefault(); if (input.value.trim()) { sessionStorage.setItem(KEY, input.value.trim()); route(); } } },
      [input, " ", el("button", { type: "submit" }, ["Sign in"])]),
  ]));
}

function route() {
  if (live) live.abort();
  live = new AbortController();
  var signed = !!token();
  document.querySelectorAll(".signed").forEach(function (a) { a.hidden = !signed; });
  if (!signed) return signIn();
  var hash = location.hash || "#/", q = hash.indexOf("?");
  var path = q < 0 ? hash : hash.slice(0, q), params = new URLSearchParams(q < 0 ? "" : hash.slice(q + 1));
  var m;
  document.querySelectorAll("nav a[data-page]").forEach(function (a) { a.classList.toggle("here", path.indexOf(a.getAttribute("data-page")) === 0 && (a.getAttribute("data-page") !== "#/" || path === "#/")); });
  if ((m = /^#\/runs\/([^/]+)$/.exec(path))) runPage(decodeURIComponent(m[1]), live.signal);
  else if ((m = /^#\/agents\/([^/]+)$/.exec(path))) agentPage(decodeURIComponent(m[1]), live.signal);
  else if (path === "#/schedules") schedulesPage(live.signal, params);
  else home(live.signal, params);
}
document.getElementById("signout").addEventListener("click", function (ev) { ev.preventDefault(); signOut(); });
window.addEventListener("hashchange", route);
route();
`;
