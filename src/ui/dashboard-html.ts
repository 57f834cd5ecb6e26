/** GET /: the dashboard's shell. Everything it shows comes from the API, read by /ui/app.js with the token. */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tether</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/style.css"></head>
<body><header><h1><a href="#/">Tether</a></h1><nav><a href="#/" data-page="#/" class="signed" hidden>Runs</a><a href="#/schedules" data-page="#/schedules" class="signed" hidden>Schedules</a><a href="/docs">API reference</a><a href="#" id="signout" class="signed" hidden>Sign out</a></nav></header>
<main id="app"></main>
<script src="/ui/app.js"></script></body></html>`;
