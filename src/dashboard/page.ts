// The page's markup and style. No inline script and no secret: the page learns everything from the
// stream (/api/stream) with its cookie, and app.js is a separate file the CSP allows.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>akspilot dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uplot.css">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<header>
  <h1>akspilot <span id="blueprint">…</span></h1>
  <p id="summary" aria-live="polite">connecting…</p>
  <p id="connection" role="status">connecting</p>
</header>
<main>
  <section aria-labelledby="charts-h" class="charts">
    <h2 id="charts-h" class="sr-only">Charts</h2>
    <figure id="chart-queue" aria-labelledby="chart-queue-cap"><figcaption id="chart-queue-cap">Queue depth</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-processed" aria-labelledby="chart-processed-cap"><figcaption id="chart-processed-cap">Messages processed per second</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-latency" aria-labelledby="chart-latency-cap"><figcaption id="chart-latency-cap">End-to-end latency, enqueued → stored (messages stored in the last 30 s)</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-replicas" aria-labelledby="chart-replicas-cap"><figcaption id="chart-replicas-cap">Replicas: desired, current, ready, pending</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-nodes" aria-labelledby="chart-nodes-cap"><figcaption id="chart-nodes-cap">Nodes by state</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-pools" aria-labelledby="chart-pools-cap"><figcaption id="chart-pools-cap">Nodes by pool kind</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-gw-requests" aria-labelledby="chart-gw-requests-cap" hidden><figcaption id="chart-gw-requests-cap">Gateway requests and errors per second</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-gw-latency" aria-labelledby="chart-gw-latency-cap" hidden><figcaption id="chart-gw-latency-cap">Gateway latency (requests of the last 10 s)</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-gw-retries" aria-labelledby="chart-gw-retries-cap" hidden><figcaption id="chart-gw-retries-cap">Gateway retries and held requests per second</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-endpoints" aria-labelledby="chart-endpoints-cap" hidden><figcaption id="chart-endpoints-cap">Ready endpoints per cluster</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <figure id="chart-share" aria-labelledby="chart-share-cap" hidden><figcaption id="chart-share-cap">Share of requests per cluster (%)</figcaption><div class="plot"></div><p class="chart-summary" aria-live="off"></p></figure>
    <p class="legend-markers">Markers: <span class="m-scale">│ scale</span> <span class="m-launch">│ node launch</span> <span class="m-stop">│ node stop</span> <span class="m-switch">│ switch</span></p>
  </section>
  <section aria-labelledby="why-h" id="why">
    <h2 id="why-h">Why</h2>
    <div id="why-body"></div>
  </section>
  <section aria-labelledby="controls-h" id="controls">
    <h2 id="controls-h">Controls</h2>
    <form id="scale-form">
      <label for="scale-replicas">Replicas</label>
      <input id="scale-replicas" name="replicas" type="number" min="0" max="1000" step="1" value="1" required>
      <label><input id="scale-pause" type="checkbox" name="pause"> pause the autoscaler</label>
      <button type="submit">Scale</button>
    </form>
    <p id="autoscaler-paused" hidden>The autoscaler is paused. <button type="button" id="resume">Resume the autoscaler</button></p>
    <form id="load-form" hidden>
      <label for="load-count" id="load-label">Messages</label>
      <input id="load-count" name="count" type="number" min="1" max="100000" step="1" value="500" required>
      <button type="submit" id="load-submit">Send a load burst</button>
    </form>
    <p id="drill" hidden><button type="button" id="drill-node-failure">Run the node-failure drill</button></p>
    <fieldset id="bluegreen" hidden>
      <legend>Blue-green upgrade</legend>
      <p id="bluegreen-state" aria-live="polite"></p>
      <form id="upgrade-form">
        <label for="upgrade-to">To version</label>
        <input id="upgrade-to" name="to" type="text" size="8" required placeholder="1.31">
        <button type="submit">Upgrade</button>
      </form>
      <button type="button" id="upgrade-rollback">Roll back</button>
      <button type="button" id="upgrade-finish">Finish (remove the old cluster)</button>
    </fieldset>
    <p id="action-result" role="status" aria-live="polite"></p>
  </section>
  <section aria-labelledby="nodes-h">
    <h2 id="nodes-h">Nodes</h2>
    <table id="nodes-table"><thead><tr><th scope="col">Cluster</th><th scope="col">Node</th><th scope="col">Pool</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Pods</th><th scope="col">CPU requested</th><th scope="col">Age</th><th scope="col">Actions</th></tr></thead><tbody></tbody></table>
  </section>
  <section aria-labelledby="pods-h">
    <h2 id="pods-h">Pods</h2>
    <table id="pods-table"><thead><tr><th scope="col">Cluster</th><th scope="col">Pod</th><th scope="col">Node</th><th scope="col">Status</th><th scope="col">Ready</th><th scope="col">Restarts</th><th scope="col">Age</th><th scope="col">In flight</th></tr></thead><tbody></tbody></table>
  </section>
  <section aria-labelledby="events-h">
    <h2 id="events-h">Events</h2>
    <label for="events-filter">Filter events</label>
    <input id="events-filter" type="search" placeholder="reason, object or text">
    <ol id="events" reversed aria-live="off"></ol>
  </section>
</main>
<script src="/assets/uplot.js"></script>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --bg: #fff; --line: #d0d7de; --warn: #9a3412; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
header { display: flex; gap: 1.5rem; align-items: baseline; padding: .5rem 1rem; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1rem; margin: .5rem 0; }
#connection { margin-left: auto; color: var(--muted); }
#connection.live { color: #116329; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(18rem, 1fr); gap: .5rem 1rem; padding: .5rem 1rem; }
main > section { min-width: 0; }
.charts { grid-column: 1; grid-row: 1 / span 2; align-content: start; display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: .5rem; }
#why { grid-column: 2; grid-row: 1; }
#controls { grid-column: 2; grid-row: 2; }
main > section:nth-of-type(n+4) { grid-column: 1 / -1; }
figure[hidden] { display: none; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 4px; padding: .25rem; }
figcaption { font-weight: 600; }
.chart-summary { margin: 0; color: var(--muted); font-size: .85rem; }
.legend-markers { grid-column: 1 / -1; margin: 0; color: var(--muted); }
.m-scale { color: #6f42c1; } .m-launch { color: #0969da; } .m-stop { color: #cf222e; } .m-switch { color: #bf8700; }
#why-body ul { margin: .25rem 0; padding-left: 1.1rem; }
#why-body h3 { font-size: .9rem; margin: .5rem 0 0; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .15rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.reason { white-space: normal; }
button { font: inherit; padding: .1rem .5rem; margin-right: .25rem; }
form { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: .25rem 0; }
fieldset { border: 1px solid var(--line); border-radius: 4px; margin: .5rem 0; }
[hidden] { display: none !important; }
input[type=number] { width: 5rem; }
#events { font-family: ui-monospace, monospace; font-size: .8rem; max-height: 22rem; overflow: auto; padding-left: 0; list-style: none; }
#events li.Warning { color: var(--warn); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
@media (max-width: 60rem) { main { grid-template-columns: 1fr; } .charts, #why, #controls { grid-column: 1; grid-row: auto; } }
`;
