/**
 * A run's watch stream (Server-Sent Events) read with fetch streaming: EventSource cannot send
 * the Authorization header. Resumes after the last event id when the server closes the stream
 * or the connection drops. Each chunk is scanned once, so a long burst of events costs time in
 * proportion to its size.
 */
export const WATCH_JS = String.raw`
function watch(id, signal, on) {
  var last = 0;
  function open() {
    var headers = last ? { "last-event-id": String(last) } : {};
    fetch("/v1/runs/" + encodeURIComponent(id) + "/watch", withToken({ signal: signal, headers: headers })).then(function (r) {
      if (r.status === 401) { signOut(); return; }
      if (r.status === 204 || !r.body) return; // ended and all heard
      if (!r.ok) throw new Error(r.statusText);
      var reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      var buf = "";
      function pump() {
        return reader.read().then(function (x) {
          if (x.done) return open(); // the server closed: resume after the last event
          var from = Math.max(0, buf.length - 1); // what was scanned before holds no event's end
          buf += x.value;
          var at = 0, end;
          while ((end = buf.indexOf("\n\n", at ? at : from)) >= 0) {
            event(buf.slice(at, end));
            at = end + 2;
          }
          buf = at ? buf.slice(at) : buf;
          return pump();
        });
      }
      return pump();
    }).catch(function () { if (!signal.aborted) setTimeout(open, 1000); });
  }
  function event(block) {
    var name = "message", data = "";
    var lines = block.split("\n");
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i], c = line.indexOf(":");
      if (c <= 0) continue;
      var f = line.slice(0, c), v = line.charAt(c + 1) === " " ? line.slice(c + 2) : line.slice(c + 1);
      if (f === "id") last = Number(v); else if (f === "event") name = v; else if (f === "data") data += v;
    }
    if (data) on(name, JSON.parse(data));
  }
  open();
}
`;
