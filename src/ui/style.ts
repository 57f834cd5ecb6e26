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
.online { color: #1f8a3b; }
.status.cancelled { background: #8883; }
header nav a.here { font-weight: 700; text-decoration: none; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 0 2em; }
.actions button { margin-right: .5em; }
pre.json { max-height: 30vh; }
ul.times { margin: .2em 0; padding-left: 1.2em; }
#output { min-height: 6em; white-space: pre-wrap; }
.nowrap { white-space: nowrap; }
#output > div { min-height: 1.4em; }
#follow { margin-top: .3em; }
.stderr { color: #d05050; }
#output .stderr { background: #d0505018; }
/* ANSI SGR in output (src/ui/dashboard/ansi.ts): a<code> for colours, ab/af/ai/au for bold, faint, italic, underline. */
.ab { font-weight: 700; } .af { opacity: .65; } .ai { font-style: italic; } .au { text-decoration: underline; }
.a30 { color: #3b3b3b; } .a31 { color: #c23621; } .a32 { color: #25a32c; } .a33 { color: #a78a0c; } .a34 { color: #3454d1; } .a35 { color: #b52fb5; } .a36 { color: #1b9aa6; } .a37 { color: #8a8a8a; }
.a90 { color: #767676; } .a91 { color: #e74c3c; } .a92 { color: #2ecc40; } .a93 { color: #d4b106; } .a94 { color: #5c7cfa; } .a95 { color: #e056e0; } .a96 { color: #20c9d6; } .a97 { color: #b5b5b5; }
.a40 { background: #3b3b3b; } .a41 { background: #c2362155; } .a42 { background: #25a32c55; } .a43 { background: #a78a0c55; } .a44 { background: #3454d155; } .a45 { background: #b52fb555; } .a46 { background: #1b9aa655; } .a47 { background: #8a8a8a55; }
.a100 { background: #767676; } .a101 { background: #e74c3c55; } .a102 { background: #2ecc4055; } .a103 { background: #d4b10655; } .a104 { background: #5c7cfa55; } .a105 { background: #e056e055; } .a106 { background: #20c9d655; } .a107 { background: #b5b5b555; }
@media (prefers-color-scheme: dark) { .a30 { color: #6e6e6e; } .a37, .a97 { color: #e8e8ea; } .a34 { color: #6f8cff; } .a90 { color: #9a9aa0; } }
form.filters { display: flex; gap: .6em; flex-wrap: wrap; margin: .6em 0; }
input, select, button { font: inherit; padding: .25em .5em; }
section { margin-bottom: 2em; }
.method { display: inline-block; min-width: 4.5em; font-weight: 700; font-family: ui-monospace, monospace; }
.op { border-bottom: 1px solid var(--line); padding: .5em 0; }
.op summary { cursor: pointer; }
`;
