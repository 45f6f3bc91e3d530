// The edgebus console: a small client for the API, served by the worker (no build step, no CDN).
// The API key lives in sessionStorage and goes out as a Bearer header; every failure shows the
// problem's `detail`. Pages are hash routes (#/overview, #/partitions/<key>, ...), built with DOM
// calls only (markup is never built from strings), so nothing the API returns is parsed as HTML.

const KEY_STORE = "edgebus.apiKey";
const main = document.getElementById("main");
const alertBox = document.getElementById("alert");
const statusBox = document.getElementById("status");
let cleanup = () => {};

// ---------- small helpers ----------

/** h("p", {class: "x", onclick: fn}, "text", child) → an element. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

let ids = 0;
/** A labelled input (or select/textarea); returns [wrapper, control]. */
function field(label, control) {
  ids += 1;
  control.id ||= `f${ids}`;
  return [h("div", { class: "field" }, h("label", { for: control.id }, label), control), control];
}

function table(caption, headers, rows, empty = "Nothing here yet.") {
  if (rows.length === 0) return h("p", { class: "muted" }, `${caption}: ${empty}`);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((x) => h("th", { scope: "col" }, x)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((r) =>
          h(
            "tr",
            {},
            r.map((c) => h("td", {}, c)),
          ),
        ),
      ),
    ),
  );
}

const status = (s) => h("span", { class: `st-${s}` }, s);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const enc = encodeURIComponent;

function showError(err) {
  alertBox.textContent = err instanceof Error ? err.message : String(err);
}
function say(text) {
  statusBox.textContent = text;
}
function clearMessages() {
  alertBox.textContent = "";
  statusBox.textContent = "";
}

/** Runs an action: clears old messages, shows the problem's detail if it fails. */
async function act(fn) {
  clearMessages();
  try {
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  }
}

class ApiError extends Error {
  constructor(message, status, problem) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
}

/** Calls the API with the stored key; throws ApiError(detail) on any non-2xx. */
async function api(method, path, body, key = sessionStorage.getItem(KEY_STORE)) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const detail = data && typeof data === "object" && data.detail ? data.detail : `${res.status} ${res.statusText}`;
    throw new ApiError(detail, res.status, data);
  }
  return { data, headers: res.headers, status: res.status };
}
const get = async (path) => (await api("GET", path)).data;

// ---------- sign-in ----------

function signInPage() {
  document.getElementById("nav").hidden = true;
  document.getElementById("session").hidden = true;
  const [keyField, keyInput] = field("API key", h("input", { type: "password", name: "apiKey", autocomplete: "off", required: true }));
  const form = h(
    "form",
    {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        act(async () => {
          const key = keyInput.value.trim();
          // Any authenticated read tells a good key from a bad one: 401 is a bad key; 403 only a missing scope.
          try {
            await api("GET", "/partitions?limit=1", undefined, key);
          } catch (err) {
            if (!(err instanceof ApiError) || err.status === 401) throw err;
          }
          sessionStorage.setItem(KEY_STORE, key);
          if (location.hash === "" || location.hash === "#/" || location.hash === "#/sign-in") location.hash = "#/overview";
          else route();
        });
      },
    },
    keyField,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  main.replaceChildren(
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste an API key. It is kept in this tab only (sessionStorage) and sent as a Bearer header; closing the tab forgets it."),
    form,
  );
  keyInput.focus();
  return () => {};
}

// ---------- overview ----------

const TASK_STATUSES = ["QUEUED", "RUNNING", "RETRYING", "SUCCEEDED", "DEAD"];

function overviewPage() {
  const cards = h("dl", { class: "cards" });
  const note = h(
    "p",
    { class: "muted" },
    "Tenant-wide figures from GET /stats, refreshed every 10 s. Events and cache reads are reported every few seconds, so they can trail by about 5 s; events stored and partitions come from the partition directory, which can trail by about a minute.",
  );
  const updated = h("p", { class: "muted" });
  main.replaceChildren(h("h1", {}, "Overview"), cards, note, updated);
  let stopped = false;
  let timer;

  const card = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, String(value)));

  async function refresh() {
    const s = await get("/stats");
    if (stopped) return;
    const ratio = s.cache.hitRatio === null ? "—" : `${Math.round(s.cache.hitRatio * 100)} %`;
    cards.replaceChildren(
      card("Events/min", s.events.lastMinute),
      card("Events last hour", s.events.lastHour),
      card("Events stored", s.events.total),
      card("Partitions", s.events.partitions),
      card("Deliveries pending", s.deliveries.pending),
      card("Deliveries failed", s.deliveries.failed),
      card("Deliveries delivered", s.deliveries.delivered),
      card("Subscriptions", s.subscriptions),
      ...TASK_STATUSES.map((status) => card(`Tasks ${status}`, s.tasks[status] ?? 0)),
      card("Cache hit ratio (last hour)", ratio),
      card("Cache hits / misses (last hour)", `${s.cache.hits} / ${s.cache.misses}`),
    );
    updated.textContent = `Generated ${when(s.generatedAt)}.`;
  }

  const loop = async () => {
    await refresh().catch(showError);
    if (!stopped) timer = setTimeout(loop, 10_000);
  };
  loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// ---------- events ----------

function eventsPage() {
  const [partField, partInput] = field("Partition", h("input", { name: "partition", required: true, placeholder: "order-123" }));
  const [idField, idInput] = field("Event id", h("input", { name: "eventId", required: true }));
  const [idPartField, idPartInput] = field("Partition of the event (optional)", h("input", { name: "eventPartition" }));
  const list = h("div", {}, h("p", { class: "muted" }, "Loading partitions…"));
  main.replaceChildren(
    h("h1", {}, "Events"),
    h(
      "form",
      {
        class: "inline",
        onsubmit: (e) => {
          e.preventDefault();
          location.hash = `#/partitions/${enc(partInput.value.trim())}`;
        },
      },
      partField,
      h("button", { type: "submit", class: "primary" }, "Open partition"),
    ),
    h(
      "form",
      {
        class: "inline",
        onsubmit: (e) => {
          e.preventDefault();
          const p = idPartInput.value.trim();
          location.hash = `#/event/${enc(idInput.value.trim())}${p ? `?partition=${enc(p)}` : ""}`;
        },
      },
      idField,
      idPartField,
      h("button", { type: "submit" }, "Find event"),
    ),
    list,
  );
  act(async () => {
    const data = await get("/partitions?limit=100");
    list.replaceChildren(
      table(
        "Partitions",
        ["Partition", "Last sequence", "Last event"],
        data.partitions.map((p) => [
          h("a", { href: `#/partitions/${enc(p.partitionKey)}` }, p.partitionKey),
          p.lastSequence,
          when(p.lastEventAt),
        ]),
      ),
    );
  });
  return () => {};
}

function eventRow(ev) {
  return h(
    "tr",
    { "data-sequence": ev.sequence },
    h("td", {}, ev.sequence),
    h("td", {}, h("a", { href: `#/event/${enc(ev.id)}?partition=${enc(ev.partitionKey)}` }, ev.id)),
    h("td", {}, ev.type),
    h("td", { class: "hide-narrow" }, when(ev.timestamp)),
    h("td", { class: "hide-narrow" }, h("code", {}, JSON.stringify(ev.data).slice(0, 120))),
  );
}

function partitionPage(key) {
  const tail = h("p", { id: "tail-status" }, "Live tail: connecting…");
  const tbody = h("tbody", {});
  const more = h("button", { type: "button" }, "Load more");
  const tbl = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, `Events of partition ${key}, in sequence order`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Sequence", "Event id", "Type", "Time", "Data"].map((x, i) =>
            h("th", { scope: "col", class: i > 2 ? "hide-narrow" : undefined }, x),
          ),
        ),
      ),
      tbody,
    ),
  );
  main.replaceChildren(h("h1", {}, `Partition ${key}`), tail, tbl, more, h("p", {}, h("a", { href: "#/events" }, "All partitions")));
  let last = 0;
  let stopped = false;
  const append = (ev) => {
    if (ev.sequence <= last) return;
    last = ev.sequence;
    tbody.append(eventRow(ev));
  };
  async function readFrom(after) {
    for (let i = 0; i < 20 && !stopped; i++) {
      const page = await get(`/partitions/${enc(key)}/events?after=${after}&limit=100`);
      for (const ev of page.events) append(ev);
      if (page.events.length < 100) return;
      after = page.nextAfter;
    }
  }
  more.addEventListener("click", () => act(() => readFrom(last)));

  // The live tail: a WebSocket opened with a one-time token; reconnects with backoff and reads
  // what it missed from the log before taking new frames.
  let ws;
  let retry;
  let backoff = 1000;
  const setTail = (text) => {
    tail.textContent = `Live tail: ${text}`;
  };
  async function connect() {
    if (stopped) return;
    try {
      const { data } = await api("POST", `/partitions/${enc(key)}/stream-tokens`);
      if (stopped) return;
      const url = new URL(data.streamUrl, location.href);
      url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(url);
      ws.addEventListener("message", (m) => {
        let frame;
        try {
          frame = JSON.parse(m.data);
        } catch {
          return;
        }
        if (frame.type === "ready") {
          backoff = 1000;
          setTail("on");
          tail.dataset.state = "on";
          if (frame.lastSequence > last) readFrom(last).catch(showError);
        } else if (frame.type === "event" && frame.event) {
          if (frame.event.sequence > last + 1) readFrom(last).catch(showError);
          else append(frame.event);
        }
      });
      ws.addEventListener("close", () => {
        if (!stopped) scheduleReconnect("connection closed");
      });
    } catch (err) {
      scheduleReconnect(err.message);
    }
  }
  function scheduleReconnect(why) {
    if (stopped) return;
    tail.dataset.state = "off";
    setTail(`off (${why}); reconnecting in ${Math.round(backoff / 1000)} s`);
    clearTimeout(retry);
    retry = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 30_000);
  }

  act(async () => {
    await readFrom(0);
    connect();
  });
  return () => {
    stopped = true;
    clearTimeout(retry);
    if (ws && ws.readyState <= 1) ws.close(1000, "page closed");
  };
}

function eventPage(id, params) {
  main.replaceChildren(h("h1", {}, `Event ${id}`), h("p", { class: "muted" }, "Loading…"));
  const partition = params.get("partition");
  act(async () => {
    const ev = await get(`/events/${enc(id)}${partition ? `?partitionKey=${enc(partition)}` : ""}`);
    const { deliveries, ...event } = ev;
    main.replaceChildren(
      h("h1", {}, `Event ${id}`),
      h(
        "dl",
        { class: "props" },
        h("dt", {}, "Type"),
        h("dd", {}, ev.type),
        h("dt", {}, "Partition"),
        h("dd", {}, h("a", { href: `#/partitions/${enc(ev.partitionKey)}` }, ev.partitionKey)),
        h("dt", {}, "Sequence"),
        h("dd", {}, ev.sequence),
        h("dt", {}, "Time"),
        h("dd", {}, when(ev.timestamp)),
      ),
      table(
        "Deliveries of this event",
        ["Subscription", "Status", "Attempts", "Next attempt", "Last error"],
        deliveries.map((d) => [
          h("a", { href: `#/deliveries?sub=${enc(d.subscriptionId)}` }, d.subscription),
          status(d.status),
          d.attempts,
          when(d.nextAttemptAt),
          d.lastError ?? "",
        ]),
        "no subscription matched it.",
      ),
      h("h2", {}, "Envelope"),
      h("pre", {}, JSON.stringify(event, null, 2)),
    );
  });
  return () => {};
}

// ---------- webhooks and subscriptions ----------

function webhooksPage() {
  const lists = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const [nameField, nameInput] = field("Name", h("input", { name: "name", required: true }));
  const [urlField, urlInput] = field(
    "URL",
    h("input", { name: "url", type: "url", required: true, placeholder: "https://example.com/hook" }),
  );
  const [eventsField, eventsInput] = field(
    "Event types (comma-separated patterns)",
    h("input", { name: "events", required: true, placeholder: "order.*" }),
  );
  const [attemptsField, attemptsInput] = field(
    "Max attempts",
    h("input", { name: "maxAttempts", type: "number", min: 1, max: 100, value: 12 }),
  );
  const [backoffField, backoffInput] = field("Backoff (ms)", h("input", { name: "backoffMs", type: "number", min: 100, value: 5000 }));
  const created = h("div", {});
  const form = h(
    "form",
    {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        act(async () => {
          const body = {
            name: nameInput.value.trim(),
            url: urlInput.value.trim(),
            events: eventsInput.value
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
            retryPolicy: { maxAttempts: Number(attemptsInput.value), backoffMs: Number(backoffInput.value) },
          };
          const { data } = await api("POST", "/webhooks", body);
          created.replaceChildren(
            h(
              "p",
              {},
              "Created ",
              h("a", { href: `#/webhooks/${enc(data.webhookId)}` }, data.name),
              ".",
              data.secret ? " Its signing secret (shown once): " : "",
              data.secret ? h("code", {}, data.secret) : "",
            ),
          );
          await load();
        });
      },
    },
    nameField,
    urlField,
    eventsField,
    attemptsField,
    backoffField,
    h("button", { type: "submit", class: "primary" }, "Create webhook"),
  );
  async function load() {
    const data = await get("/subscriptions");
    const push = data.subscriptions.filter((s) => s.url);
    const pull = data.subscriptions.filter((s) => !s.url);
    const patterns = (s) => [...(s.events ?? []), ...(s.routingKeys ?? [])].join(", ");
    lists.replaceChildren(
      table(
        "Webhooks",
        ["Name", "URL", "Patterns", "Status"],
        push.map((s) => [h("a", { href: `#/webhooks/${enc(s.id)}` }, s.name), s.url, patterns(s), status(s.status)]),
      ),
      table(
        "Pull subscriptions",
        ["Name", "Patterns", "Status", "Deliveries"],
        pull.map((s) => [s.name, patterns(s), status(s.status), h("a", { href: `#/deliveries?sub=${enc(s.id)}` }, "Delivery log")]),
      ),
    );
  }
  main.replaceChildren(h("h1", {}, "Webhooks and subscriptions"), lists, h("h2", {}, "New webhook"), form, created);
  act(load);
  return () => {};
}

function webhookPage(id) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const result = h("div", { id: "webhook-result" });
  main.replaceChildren(h("h1", {}, "Webhook"), body, result);
  async function load() {
    const w = await get(`/webhooks/${enc(id)}`);
    main.firstChild.textContent = `Webhook ${w.name}`;
    const paused = w.status === "DISABLED";
    const [graceField, graceInput] = field(
      "Old secret valid for (seconds)",
      h("input", { type: "number", min: 0, value: 86400, name: "grace" }),
    );
    body.replaceChildren(
      h(
        "dl",
        { class: "props" },
        h("dt", {}, "Id"),
        h("dd", {}, w.id),
        h("dt", {}, "URL"),
        h("dd", {}, w.url),
        h("dt", {}, "Status"),
        h("dd", { id: "webhook-status" }, status(w.status)),
        h("dt", {}, "Patterns"),
        h("dd", {}, [...(w.events ?? []), ...(w.routingKeys ?? [])].join(", ")),
        h("dt", {}, "Retry policy"),
        h(
          "dd",
          {},
          w.retryPolicy
            ? `${w.retryPolicy.maxAttempts} attempts, backoff ${w.retryPolicy.backoffMs} ms, timeout ${w.retryPolicy.timeoutMs} ms`
            : "default",
        ),
        h("dt", {}, "Backlog"),
        h("dd", {}, w.backlog ? `${w.backlog.pending} pending, ${w.backlog.inFlight} in flight` : "—"),
        w.pausedUntil ? [h("dt", {}, "Paused until"), h("dd", {}, when(w.pausedUntil))] : [],
      ),
      h(
        "div",
        { class: "row" },
        h(
          "button",
          {
            type: "button",
            onclick: () =>
              act(async () => {
                await api("PATCH", `/webhooks/${enc(id)}`, { status: paused ? "ACTIVE" : "DISABLED" });
                say(paused ? "Resumed." : "Paused.");
                await load();
              }),
          },
          paused ? "Resume" : "Pause",
        ),
        h(
          "button",
          {
            type: "button",
            onclick: () =>
              act(async () => {
                const { data } = await api("POST", `/webhooks/${enc(id)}/test`);
                result.replaceChildren(
                  h(
                    "p",
                    {},
                    `Test send: ${data.ok ? "OK" : "failed"}`,
                    data.statusCode !== undefined ? `, status ${data.statusCode}` : "",
                    `, ${data.durationMs} ms`,
                    data.error ? `, ${data.error}` : "",
                  ),
                );
              }),
          },
          "Send test",
        ),
        h("a", { href: `#/deliveries?sub=${enc(id)}` }, "Delivery log"),
      ),
      h(
        "form",
        {
          class: "inline",
          onsubmit: (e) => {
            e.preventDefault();
            act(async () => {
              const { data } = await api("POST", `/webhooks/${enc(id)}/rotate-secret`, { graceSeconds: Number(graceInput.value) });
              result.replaceChildren(
                h(
                  "p",
                  {},
                  "Secret rotated. New secret (shown once): ",
                  h("code", {}, data.secret ?? "(yours)"),
                  data.previousSecretExpiresAt ? `; the old one signs until ${when(data.previousSecretExpiresAt)}` : "",
                ),
              );
            });
          },
        },
        graceField,
        h("button", { type: "submit" }, "Rotate secret"),
      ),
    );
  }
  act(load);
  return () => {};
}

// ---------- deliveries ----------

function deliveriesPage(params) {
  const sub = params.get("sub") ?? "";
  const st = params.get("status") ?? "";
  const [subField, subSelect] = field("Subscription", h("select", { name: "sub" }, h("option", { value: "" }, "Choose…")));
  const [statusField, statusSelect] = field(
    "Status",
    h(
      "select",
      { name: "status" },
      ["", "PENDING", "DELIVERED", "FAILED", "DROPPED"].map((s) => h("option", { value: s, selected: s === st }, s || "any")),
    ),
  );
  const go = () => {
    // Until the list has loaded, the select does not hold the current subscription yet.
    const chosen = subSelect.options.length > 1 ? subSelect.value : sub;
    location.hash = `#/deliveries?sub=${enc(chosen)}${statusSelect.value ? `&status=${statusSelect.value}` : ""}`;
  };
  subSelect.addEventListener("change", go);
  statusSelect.addEventListener("change", go);
  const log = h("div", {});
  const [sinceField, sinceInput] = field("Recover failed since", h("input", { type: "datetime-local", name: "since", required: true }));
  const recoverForm = h(
    "form",
    {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        act(async () => {
          const since = new Date(sinceInput.value);
          if (Number.isNaN(since.getTime())) throw new Error("Enter a date and time to recover from.");
          const { data } = await api("POST", `/subscriptions/${enc(sub)}/recover`, { since: since.toISOString() });
          say(`Recover: ${data.recovered} deliveries sent again.`);
          await load();
        });
      },
    },
    sinceField,
    h("button", { type: "submit" }, "Recover"),
  );
  main.replaceChildren(
    h("h1", {}, "Deliveries"),
    h("div", { class: "row" }, subField, statusField, h("button", { type: "button", onclick: () => act(load) }, "Refresh")),
    log,
  );
  let cursor = null;
  async function load(append = false) {
    if (!sub) {
      log.replaceChildren(h("p", { class: "muted" }, "Choose a webhook or subscription."));
      return;
    }
    const q = new URLSearchParams();
    if (st) q.set("status", st);
    if (append && cursor) q.set("cursor", cursor);
    const data = await get(`/subscriptions/${enc(sub)}/deliveries?${q}`);
    cursor = data.nextCursor;
    const rows = data.deliveries.map((d) => [
      h("a", { href: `#/event/${enc(d.eventId)}?partition=${enc(d.partitionKey)}` }, d.eventId),
      h("a", { href: `#/partitions/${enc(d.partitionKey)}` }, `${d.partitionKey} #${d.sequence}`),
      status(d.status),
      d.attempts.length === 0
        ? "none yet"
        : h(
            "ol",
            { class: "attempts" },
            d.attempts.map((a) =>
              h(
                "li",
                {},
                `attempt ${a.attempt}: `,
                a.statusCode !== undefined ? `status ${a.statusCode}` : "no response",
                `, ${a.durationMs} ms`,
                a.error ? `, ${a.error}` : "",
                ` — ${when(a.at)}`,
              ),
            ),
          ),
      h(
        "button",
        {
          type: "button",
          "aria-describedby": undefined,
          title: `Send ${d.eventId} again`,
          onclick: () =>
            act(async () => {
              await api("POST", `/subscriptions/${enc(sub)}/deliveries/${enc(d.deliveryId)}/redeliver`);
              say(`Delivery ${d.deliveryId} sent again.`);
              await load();
            }),
        },
        "Redeliver",
      ),
    ]);
    const tbl = table(
      `Deliveries${st ? ` (${st})` : ""}, newest first`,
      ["Event", "Partition", "Status", "Attempts", "Action"],
      rows,
      "none.",
    );
    const parts = [tbl];
    if (cursor) parts.push(h("button", { type: "button", onclick: () => act(() => load(true)) }, "Load more"));
    parts.push(h("h2", {}, "Recover"), recoverForm);
    if (append) log.prepend(...parts.slice(0, 1));
    else log.replaceChildren(...parts);
  }
  act(async () => {
    const data = await get("/subscriptions");
    for (const s of data.subscriptions) {
      subSelect.append(h("option", { value: s.id, selected: s.id === sub }, `${s.name}${s.url ? "" : " (pull)"}`));
    }
    await load();
  });
  return () => {};
}

// ---------- tasks ----------

function tasksPage(params) {
  const st = params.get("status") ?? "";
  const [statusField, statusSelect] = field(
    "Status",
    h(
      "select",
      { name: "status" },
      ["", ...TASK_STATUSES].map((s) => h("option", { value: s, selected: s === st }, s || "any")),
    ),
  );
  statusSelect.addEventListener("change", () => {
    location.hash = `#/tasks${statusSelect.value ? `?status=${statusSelect.value}` : ""}`;
  });
  const list = h("div", {});
  const detail = h("div", {});
  main.replaceChildren(
    h("h1", {}, "Tasks"),
    h("div", { class: "row" }, statusField, h("button", { type: "button", onclick: () => act(load) }, "Refresh")),
    list,
    detail,
  );
  async function show(id) {
    const t = await get(`/tasks/${enc(id)}`);
    detail.replaceChildren(h("h2", {}, `Task ${id}`), h("pre", {}, JSON.stringify(t, null, 2)));
  }
  async function load() {
    const data = await get(`/tasks?limit=100${st ? `&status=${st}` : ""}`);
    list.replaceChildren(
      table(
        `Tasks${st ? ` (${st})` : ""}, newest first`,
        ["Task", "Type", "Priority", "Status", "Attempts", "Error", "Action"],
        data.tasks.map((t) => [
          h("button", { type: "button", class: "link", onclick: () => act(() => show(t.taskId)) }, t.taskId),
          t.type,
          t.priority,
          status(t.status),
          t.attempts,
          t.error ?? "",
          t.status === "DEAD"
            ? h(
                "button",
                {
                  type: "button",
                  title: `Run ${t.taskId} again`,
                  onclick: () =>
                    act(async () => {
                      const { data: r } = await api("POST", `/tasks/${enc(t.taskId)}/retry`);
                      say(`Task ${t.taskId} is ${r.status} again.`);
                      await load();
                    }),
                },
                "Retry",
              )
            : "",
        ]),
        "none.",
      ),
    );
  }
  act(load);
  return () => {};
}

// ---------- schemas ----------

function schemasPage(type) {
  main.replaceChildren(h("h1", {}, type ? `Schema ${type}` : "Schemas"), h("p", { class: "muted" }, "Loading…"));
  act(async () => {
    if (!type) {
      const data = await get("/schemas");
      main.replaceChildren(
        h("h1", {}, "Schemas"),
        table(
          "Event types with schemas",
          ["Type", "Latest", "Versions"],
          data.types.map((t) => [h("a", { href: `#/schemas/${enc(t.type)}` }, t.type), t.latest, t.versions.join(", ")]),
          "none registered.",
        ),
      );
      return;
    }
    const data = await get(`/schemas/${enc(type)}`);
    main.replaceChildren(
      h("h1", {}, `Schema ${type}`),
      h("p", {}, `Latest version ${data.latest}. `, h("a", { href: "#/schemas" }, "All schemas")),
      ...data.versions.flatMap((v) => [
        h("h2", {}, `Version ${v.version}${v.deprecated ? " (deprecated)" : ""}`),
        v.description ? h("p", {}, v.description) : "",
        h("pre", {}, JSON.stringify(v.schema, null, 2)),
      ]),
    );
  });
  return () => {};
}

// ---------- cache ----------

function cachePage() {
  const [keyField, keyInput] = field("Key", h("input", { name: "key", required: true }));
  const [valueField, valueInput] = field("Value (JSON)", h("textarea", { name: "value" }));
  const [ttlField, ttlInput] = field("Time to live (seconds, optional)", h("input", { name: "ttl", type: "number", min: 1 }));
  const out = h("div", { id: "cache-result" });
  const key = () => {
    const k = keyInput.value.trim();
    if (!k) throw new Error("Enter a key.");
    return enc(k);
  };
  const button = (label, fn) => h("button", { type: "button", onclick: () => act(fn) }, label);
  main.replaceChildren(
    h("h1", {}, "Cache"),
    h(
      "form",
      { onsubmit: (e) => e.preventDefault() },
      h("div", { class: "row" }, keyField, ttlField),
      h("div", { class: "row" }, valueField),
      h(
        "div",
        { class: "row" },
        button("Get", async () => {
          try {
            const { data, headers } = await api("GET", `/cache/${key()}`);
            out.replaceChildren(
              h("p", {}, `${headers.get("x-cache-status") ?? "HIT"} (tier ${headers.get("x-cache-tier") ?? "?"})`),
              h("pre", {}, JSON.stringify(data, null, 2)),
            );
          } catch (err) {
            out.replaceChildren();
            throw err;
          }
        }),
        button("Put", async () => {
          let value;
          try {
            value = JSON.parse(valueInput.value);
          } catch {
            throw new Error("The value must be JSON.");
          }
          const headers = { authorization: `Bearer ${sessionStorage.getItem(KEY_STORE)}`, "content-type": "application/json" };
          if (ttlInput.value) headers["cache-control"] = `max-age=${Number(ttlInput.value)}`;
          const res = await fetch(`/cache/${key()}`, { method: "PUT", headers, body: JSON.stringify(value) });
          const data = await res.json().catch(() => null);
          if (!res.ok) throw new ApiError(data?.detail ?? `${res.status}`, res.status, data);
          out.replaceChildren(h("p", {}, `STORED until ${when(data.expiresAt)}`));
        }),
        button("Clear", async () => {
          await api("DELETE", `/cache/${key()}`);
          out.replaceChildren(h("p", {}, "CLEARED"));
        }),
      ),
    ),
    out,
  );
  return () => {};
}

// ---------- router ----------

function route() {
  cleanup();
  cleanup = () => {};
  clearMessages();
  if (!sessionStorage.getItem(KEY_STORE)) {
    cleanup = signInPage();
    return;
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("session").hidden = false;
  const key = sessionStorage.getItem(KEY_STORE);
  document.getElementById("who").textContent = `Signed in with …${key.slice(-6)}`;
  const hash = location.hash.slice(1) || "/overview";
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  // A malformed link (#/partitions/%E0) opens the overview instead of stopping the router.
  const decode = (part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return "";
    }
  };
  const parts = path.split("/").filter(Boolean).map(decode);
  if (parts.includes("")) parts.length = 0;
  const section = parts[0] ?? "overview";
  const navSection = { partitions: "events", event: "events" }[section] ?? section;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#/${navSection}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const pages = {
    overview: () => overviewPage(),
    events: () => eventsPage(),
    partitions: () => partitionPage(parts[1] ?? ""),
    event: () => eventPage(parts[1] ?? "", params),
    webhooks: () => (parts[1] ? webhookPage(parts[1]) : webhooksPage()),
    deliveries: () => deliveriesPage(params),
    tasks: () => tasksPage(params),
    schemas: () => schemasPage(parts[1]),
    cache: () => cachePage(),
  };
  main.focus({ preventScroll: true });
  cleanup = (pages[section] ?? pages.overview)();
}

document.getElementById("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORE);
  location.hash = "#/sign-in";
  route();
});
window.addEventListener("hashchange", route);
route();
