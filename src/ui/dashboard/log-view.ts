/**
 * A run's output on its page: lines in a <pre>, stderr told apart from stdout, ANSI colours
 * rendered, following the end unless the reader scrolled up.
 *
 * Built to take any amount of output without freezing the tab: chunks are queued as they
 * arrive and put on the page once per animation frame (less often while each update is costly,
 * so the page keeps answering); only the last LOG_LINES lines (and at
 * most LOG_CHARS characters) stay in the page, the rest is counted in a note above; a frame
 * never builds more lines than it keeps, so output that comes faster than frames is skipped
 * over, its colour codes still applied; and one very long line is broken every LOG_LINE_CHARS.
 */
export const LOG_VIEW_JS = String.raw`
var LOG_LINES = 3000, LOG_CHARS = 500000, LOG_LINE_CHARS = 4000;

function logView() {
  var pre = el("pre", { id: "output", "data-lines": "0" });
  var note = el("p", { id: "output-hidden", class: "muted", hidden: "" });
  var jump = el("button", { id: "follow", type: "button", hidden: "", onclick: function () { follow = true; jump.hidden = true; pre.scrollTop = pre.scrollHeight; } }, ["Follow the end ↓"]);
  var states = { stdout: ansiState(), stderr: ansiState() };
  var decoders = {};
  var pending = [], pendingChars = 0, scheduled = false;
  var lines = 0, chars = 0, hidden = 0, cur = null, curChars = 0;
  var follow = true;
  var cost = 0; // how long the last frame's update took, layout and paint included

  // Scrolled to the end (by the reader, or by this view following it) means follow it.
  pre.addEventListener("scroll", function () {
    follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    jump.hidden = follow;
  });

  function newLine() {
    cur = document.createElement("div");
    cur.n = 0; curChars = 0;
    pre.append(cur);
    lines++;
  }
  function put(text, cls) {
    while (text) {
      if (!cur || curChars >= LOG_LINE_CHARS) newLine();
      var part = text.length > LOG_LINE_CHARS - curChars ? text.slice(0, LOG_LINE_CHARS - curChars) : text;
      text = text.slice(part.length);
      var last = cur.lastChild;
      if (last && last.cls === cls) last.append(part);
      else { var s = document.createElement("span"); if (cls) s.className = cls; s.cls = cls; s.append(part); cur.append(s); }
      curChars += part.length; cur.n += part.length; chars += part.length;
    }
  }
  /** Drops queued output before the last LOG_LINES lines (or LOG_CHARS characters): it would be cut at once. */
  function skipAhead() {
    var nl = 0, total = 0, keep = -1, from = 0;
    for (var i = pending.length - 1; i >= 0 && keep < 0; i--) {
      var t = pending[i].text, pos = t.length;
      while (pos > 0) {
        var f = t.lastIndexOf("\n", pos - 1);
        if (f < 0) break;
        pos = f;
        if (++nl > LOG_LINES) { keep = i; from = f + 1; break; }
      }
      total += t.length;
      if (total > LOG_CHARS) { var c = total - LOG_CHARS; if (keep < 0 || c > from) from = c; keep = i; }
    }
    if (keep < 0) return;
    for (var j = 0; j < keep; j++) { hidden += pending[j].text.length; ansiSkip(pending[j].text, states[pending[j].stream]); }
    var first = pending[keep];
    hidden += from; ansiSkip(first.text.slice(0, from), states[first.stream]);
    first.text = first.text.slice(from);
    pending = pending.slice(keep);
    cur = null; // what follows the gap starts a line of its own
  }
  function trim() {
    while (lines > LOG_LINES || chars > LOG_CHARS) {
      var first = pre.firstChild;
      if (!first) break;
      if (first === cur) cur = null;
      hidden += first.n; chars -= first.n; lines--;
      first.remove();
    }
  }
  /**
   * The next update: at the next frame, or, when the last one was big and long (a flood of
   * output, over 30 ms), after a pause three times as long, so the page spends at most a quarter of its time
   * on output and keeps answering the reader. A line or two never waits.
   */
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    if (cost <= 30) requestAnimationFrame(flush);
    else setTimeout(function () { requestAnimationFrame(flush); }, Math.min(250, cost * 3));
  }
  function flush() {
    var t0 = performance.now(), big = pendingChars > 65536;
    // A task queued from a frame callback runs once that frame is rendered. Only a big update
    // counts: a small one that took long was kept waiting by something else, not by its size.
    setTimeout(function () { cost = big ? performance.now() - t0 : 0; }, 0);
    scheduled = false;
    if (pendingChars > LOG_CHARS || pending.length > LOG_LINES) skipAhead();
    var items = pending;
    pending = []; pendingChars = 0;
    for (var i = 0; i < items.length; i++) {
      var it = items[i], err = it.stream === "stderr";
      var segs = ansiSegments(it.text, states[it.stream]);
      for (var k = 0; k < segs.length; k++) {
        var cls = segs[k][1] + (err ? (segs[k][1] ? " " : "") + "stderr" : "");
        var parts = segs[k][0].split("\n");
        for (var p = 0; p < parts.length; p++) {
          if (p > 0) { if (!cur) newLine(); cur = null; }
          if (parts[p]) put(parts[p].replace(/\r$/, ""), cls);
        }
      }
    }
    trim();
    pre.setAttribute("data-lines", String(lines));
    if (hidden) { note.hidden = false; note.textContent = "Earlier output not shown here: " + hidden.toLocaleString() + " characters (tether logs has all of it)."; }
    if (follow) pre.scrollTop = pre.scrollHeight;
  }
  /** Queues a chunk: text, or base64 bytes decoded per stream so a character cut across chunks is whole. */
  function push(d) {
    var stream = d.stream === "stderr" ? "stderr" : "stdout";
    var dec = decoders[stream] || (decoders[stream] = new TextDecoder());
    var text = d.text !== undefined ? dec.decode() + d.text : dec.decode(Uint8Array.from(atob(d.data), function (ch) { return ch.charCodeAt(0); }), { stream: true });
    if (!text) return;
    pending.push({ text: text, stream: stream });
    pendingChars += text.length;
    // A hidden tab gets no frames: keep the queue bounded meanwhile.
    if (pendingChars > 4 * LOG_CHARS) skipAhead(), pendingChars = pending.reduce(function (n, x) { return n + x.text.length; }, 0);
    schedule();
  }
  return { node: el("div", { class: "log" }, [note, pre, jump]), push: push };
}
`;
