/**
 * The console's HTML shell and stylesheet. The page holds no data: the script (console.js) signs
 * in with an API key kept in sessionStorage and calls the API with it as a Bearer header.
 */

export const CONSOLE_ASSETS = "/console/assets";

export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgebus console</title>
<link rel="stylesheet" href="${CONSOLE_ASSETS}/console.css">
<script type="module" src="${CONSOLE_ASSETS}/console.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand">edgebus console</p>
<div id="session" hidden><span id="who"></span> <button type="button" id="sign-out">Sign out</button></div>
</header>
<nav id="nav" aria-label="Console" hidden>
<ul>
<li><a href="#/overview">Overview</a></li>
<li><a href="#/events">Events</a></li>
<li><a href="#/webhooks">Webhooks</a></li>
<li><a href="#/deliveries">Deliveries</a></li>
<li><a href="#/tasks">Tasks</a></li>
<li><a href="#/schemas">Schemas</a></li>
<li><a href="#/cache">Cache</a></li>
</ul>
</nav>
<div id="alert" role="alert"></div>
<div id="status" role="status" aria-live="polite"></div>
<main id="main" tabindex="-1">
<noscript>The console needs JavaScript. The API itself is described at <a href="/docs">/docs</a>.</noscript>
</main>
</body>
</html>
`;

export const CONSOLE_CSS = `:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0550ae; --bad: #a40e26; --good: #116329; --bg: #fff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 2; }
.top { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: 8px; padding: 8px 16px; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { margin: 0; font-weight: 700; }
nav ul { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 0; padding: 8px 16px; border-bottom: 1px solid var(--line); }
nav a { color: var(--accent); text-decoration: none; padding: 4px 2px; }
nav a[aria-current="page"] { font-weight: 700; border-bottom: 3px solid var(--accent); }
main { padding: 16px; max-width: 1240px; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: 0 0 12px; }
h2 { font-size: 1.15rem; margin: 24px 0 8px; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
form.inline, .row { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-end; margin: 8px 0 16px; }
.field { display: flex; flex-direction: column; gap: 2px; min-width: 0; }
label { font-size: .875rem; color: var(--muted); }
input, select, textarea { font: inherit; padding: 6px 8px; border: 1px solid #8c959f; border-radius: 6px; max-width: 100%; }
textarea { width: min(100%, 40rem); min-height: 5rem; font-family: ui-monospace, monospace; font-size: .875rem; }
button { font: inherit; padding: 6px 12px; border: 1px solid #8c959f; border-radius: 6px; background: var(--panel); color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.link { border: none; background: none; padding: 0; color: var(--accent); text-decoration: underline; }
#alert:not(:empty) { margin: 12px 16px 0; padding: 8px 12px; border: 1px solid var(--bad); border-radius: 6px; color: var(--bad); background: #ffebe9; }
#status:not(:empty) { margin: 12px 16px 0; color: var(--muted); }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: var(--panel); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 12px; padding: 0; margin: 0 0 16px; }
.cards > div { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; margin: 0; }
.cards dt { color: var(--muted); font-size: .875rem; }
.cards dd { margin: 0; font-size: 1.5rem; font-weight: 600; }
pre { background: var(--panel); padding: 8px; border-radius: 6px; overflow-x: auto; font-size: .85rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.st-FAILED, .st-DEAD, .st-DISABLED, .st-DROPPED { color: var(--bad); font-weight: 600; }
.st-DELIVERED, .st-SUCCEEDED, .st-ACTIVE { color: var(--good); font-weight: 600; }
.muted { color: var(--muted); }
ol.attempts { margin: 0; padding-left: 1.2rem; }
dl.props { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.props dt { color: var(--muted); }
dl.props dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 600px) { main { padding: 12px; } th, td { padding: 4px; } .hide-narrow { display: none; } }
`;
