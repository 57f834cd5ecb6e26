/** The dashboard's and /docs' one stylesheet: served from /ui/style.css (the pages' CSP allows no inline style). */
export const STYLE_CSS = String.raw`
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fff; --muted: #6b6b70; --line: #ddd; --accent: #2456c8; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --bg: #161618; --muted: #9a9aa0; --line: #333; --accent: #7aa2ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1em; align-items: center; padding: .6em 1em; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.1em; margin: 0; }
header nav { margin-left: auto; display: flex; gap: 1em; }
main { padding: 1em; max-width: 1200px; margin: auto; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
tr.link { cursor: pointer; } tr.link:hover { background: rgba(127,127,127,.1); }
code, pre { font: 12.5px/1.4 ui-monospace, monospace; }
pre { background: rgba(127,127,127,.1); padding: .6em; overflow: auto; max-height: 60vh; white-space: pre-wrap; word-break: break-all; }
.status { padding: 0 .4em; border-radius: 3px; font-size: .9em; }
.status.succeeded { background: #1f8a3b33; } .status.failed, .status.timed_out, .status.orphaned { background: #c0303033; }
.status.running { background: #2456c833; } .status.queued, .status.awaiting_approval { background: #b0800033; }
.muted { color: var(--muted); } .err { color: #c03030; }
.stderr { color: #d05050; }
form.filters { display: flex; gap: .6em; flex-wrap: wrap; margin: .6em 0; }
input, select, button { font: inherit; padding: .25em .5em; }
section { margin-bottom: 2em; }
.method { display: inline-block; min-width: 4.5em; font-weight: 700; font-family: ui-monospace, monospace; }
.op { border-bottom: 1px solid var(--line); padding: .5em 0; }
.op summary { cursor: pointer; }
`;
