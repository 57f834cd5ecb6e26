/**
 * ANSI colour in a job's output: SGR codes (ESC [ ... m) turned into class names, every other
 * escape sequence dropped. Pure functions over strings, so they run in Node too (test/unit).
 * Output never becomes HTML: the log view puts each segment in a text node.
 *
 * Supported: reset (0), bold (1), faint (2), italic (3), underline (4) and their offs
 * (22, 23, 24), foreground 30-37 and 90-97 (39 default), background 40-47 and 100-107
 * (49 default). 256-colour and true-colour codes (38;5;n, 38;2;r;g;b) are skipped whole.
 */
export const ANSI_JS = String.raw`
function ansiState() { return { fg: 0, bg: 0, bold: false, faint: false, italic: false, under: false, tail: "" }; }

function ansiApply(st, params) {
  var ps = params === "" ? [0] : params.split(";");
  for (var i = 0; i < ps.length; i++) {
    var p = ps[i] === "" ? 0 : Number(ps[i]);
    if (p === 0) { st.fg = 0; st.bg = 0; st.bold = st.faint = st.italic = st.under = false; }
    else if (p === 1) st.bold = true;
    else if (p === 2) st.faint = true;
    else if (p === 3) st.italic = true;
    else if (p === 4) st.under = true;
    else if (p === 22) st.bold = st.faint = false;
    else if (p === 23) st.italic = false;
    else if (p === 24) st.under = false;
    else if ((p >= 30 && p <= 37) || (p >= 90 && p <= 97)) st.fg = p;
    else if (p === 39) st.fg = 0;
    else if ((p >= 40 && p <= 47) || (p >= 100 && p <= 107)) st.bg = p;
    else if (p === 49) st.bg = 0;
    else if (p === 38 || p === 48) i += ps[i + 1] === "5" ? 2 : ps[i + 1] === "2" ? 4 : 0;
  }
}

/** The classes of the current state ("" for plain text). */
function ansiClass(st) {
  var c = [];
  if (st.fg) c.push("a" + st.fg);
  if (st.bg) c.push("a" + st.bg);
  if (st.bold) c.push("ab");
  if (st.faint) c.push("af");
  if (st.italic) c.push("ai");
  if (st.under) c.push("au");
  return c.join(" ");
}

// CSI (ESC [ params final), OSC (ESC ] ... BEL or ESC \), or a two-character escape.
var ANSI_RE = /\x1b\[([0-9;?]*)([ -\/]*[@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[^\[\]]/g;
// An escape sequence cut at the end of a chunk: kept back until the next chunk completes it.
var ANSI_CUT = /\x1b(?:\[[0-9;?]*[ -\/]*|\][^\x07\x1b]*\x1b?)?$/;

/**
 * Splits a chunk of output into [text, classes] segments with the escape sequences taken out.
 * st carries the colour state (and a cut sequence) from one chunk of the stream to the next.
 */
function ansiSegments(text, st) {
  if (st.tail) { text = st.tail + text; st.tail = ""; }
  var out = [];
  if (text.indexOf("\x1b") < 0) { if (text) out.push([text, ansiClass(st)]); return out; }
  var cut = ANSI_CUT.exec(text);
  if (cut && cut[0].length < 256) { st.tail = cut[0]; text = text.slice(0, cut.index); }
  var at = 0, m;
  ANSI_RE.lastIndex = 0;
  while ((m = ANSI_RE.exec(text))) {
    if (m.index > at) out.push([text.slice(at, m.index), ansiClass(st)]);
    if (m[2] === "m") ansiApply(st, m[1]);
    at = ANSI_RE.lastIndex;
  }
  if (at < text.length) out.push([text.slice(at), ansiClass(st)]);
  return out;
}

/** Applies the colour codes of output that will not be shown, so what follows it keeps its colours. */
function ansiSkip(text, st) {
  if (st.tail) { text = st.tail + text; st.tail = ""; }
  if (text.indexOf("\x1b") < 0) return;
  var m;
  ANSI_RE.lastIndex = 0;
  while ((m = ANSI_RE.exec(text))) if (m[2] === "m") ansiApply(st, m[1]);
}
`;
