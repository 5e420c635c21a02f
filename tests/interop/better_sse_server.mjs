// An SSE server built on better-sse and node:http, for interoperability tests.
//
//   node tests/interop/better_sse_server.mjs --ready-file ready.json \
//       [--port 0] [--host 127.0.0.1] [--watch-stdin] [--max-lifetime 1800]
//
// better-sse is pinned in package-lock.json next to this file (npm ci). Once
// listening it writes {"port": N, "server": "better-sse", "pid": P} to the
// ready file atomically. The routes, shared with starlette_server.py, are
// described in README.md. better-sse writes "field:value" with no space after
// the colon, ends lines with LF, and opens every stream with a `retry` field.

import { renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { createChannel, createSession } from "better-sse";

// Event data goes out as given; the library's default serializer
// (JSON.stringify) is kept for /channel, as most deployments use it.
const raw = { serializer: (data) => String(data) };

function eventFor(i) {
  if (i % 3 === 1) return ["tick", `tick ${i}`];
  if (i % 3 === 2) return ["multi", `first line of ${i}\nsecond line\n\nfourth line after an empty one`];
  return ["unicode", `h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \u{1f680} ${i}`];
}

function intParam(url, name, fallback) {
  const value = url.searchParams.get(name);
  if (value === null || !/^-?\d+$/.test(value)) return fallback;
  return Number.parseInt(value, 10);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The id after the client's last event ID: better-sse reads it from the
// Last-Event-ID header or the `lastEventId` query parameter into lastId.
function resumePoint(req, url) {
  const seen = req.headers["last-event-id"] ?? url.searchParams.get("lastEventId");
  const n = /^\d+$/.test(seen ?? "") ? Number.parseInt(seen, 10) : 0;
  return [n + 1, seen];
}

function seenHeaders(seen) {
  return seen === null || seen === undefined ? {} : { "X-Last-Event-ID-Seen": seen };
}

// Multi-line data goes through an event buffer, one data field per line:
// session.push() would put the whole value into a single field.
async function pushNumbered(session, i) {
  const [type, data] = eventFor(i);
  if (!data.includes("\n")) {
    session.push(data, type, String(i));
    return;
  }
  await session.batch((buffer) => {
    buffer.id(String(i)).event(type);
    for (const line of data.split("\n")) buffer.data(line);
    buffer.dispatch();
  });
}

async function sendNumbered(req, res, url, first, last) {
  const retry = intParam(url, "retry", null);
  const interval = intParam(url, "interval_ms", 0);
  const [, seen] = resumePoint(req, url);
  const options = { ...raw, headers: seenHeaders(seen) };
  if (retry !== null && retry >= 0) options.retry = retry;
  const session = await createSession(req, res, options);
  for (let i = first; (last === null || i <= last) && session.isConnected; i++) {
    await pushNumbered(session, i);
    if (interval > 0) await sleep(interval);
  }
  res.end();
}

async function stream(req, res, url) {
  const count = intParam(url, "count", 5);
  const [first] = resumePoint(req, url);
  await sendNumbered(req, res, url, first, count < 0 ? null : count);
}

async function closeAfter(req, res, url) {
  const n = Math.max(intParam(url, "n", 2), 1);
  const total = intParam(url, "total", 0);
  const [first, seen] = resumePoint(req, url);
  if (total > 0 && first > total) {
    // 204 is how a server tells an EventSource client to stop reconnecting.
    res.writeHead(204, seenHeaders(seen)).end();
    return;
  }
  const last = total > 0 ? Math.min(first + n - 1, total) : first + n - 1;
  await sendNumbered(req, res, url, first, last);
}

async function ping(req, res, url) {
  const count = intParam(url, "count", 3);
  const gap = intParam(url, "gap_ms", 300);
  const keepAlive = Math.max(intParam(url, "ping_ms", 100), 1);
  const session = await createSession(req, res, { ...raw, keepAlive });
  for (let i = 1; i <= count && session.isConnected; i++) {
    await sleep(gap);
    if (session.isConnected) session.push(`tick ${i}`, "tick", String(i));
  }
  res.end();
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function post(req, res) {
  if (req.method !== "POST") {
    res.writeHead(405, { Allow: "POST", "Content-Type": "text/plain" }).end("POST a JSON body\n");
    return;
  }
  let prompt;
  let delay = 0;
  try {
    const body = JSON.parse(await readBody(req));
    prompt = body.prompt;
    delay = Number.parseInt(body.delay_ms ?? 0, 10) || 0;
    if (typeof prompt !== "string") throw new TypeError("prompt must be a string");
  } catch (err) {
    res.writeHead(400, { "Content-Type": "text/plain" }).end(`bad request body: ${err.message}\n`);
    return;
  }
  const words = prompt.split(" ");
  const tokens = words.map((w, i) => (i < words.length - 1 ? `${w} ` : w));
  const session = await createSession(req, res, { ...raw, retry: null });
  // LLM APIs send bare data fields: no id, no event name.
  for (const [index, token] of tokens.entries()) {
    if (delay > 0) await sleep(delay);
    if (!session.isConnected) return;
    await session.batch((buffer) => buffer.data(JSON.stringify({ index, token })).dispatch());
  }
  await session.batch((buffer) => buffer.data("[DONE]").dispatch());
  res.end();
}

const channel = createChannel();
let broadcastSeq = 0;

async function channelStream(req, res) {
  channel.register(await createSession(req, res));
}

function broadcast(res, url) {
  broadcastSeq += 1;
  const msg = url.searchParams.get("msg") ?? "";
  channel.broadcast({ msg, seq: broadcastSeq }, "broadcast", { eventId: String(broadcastSeq) });
  sendJson(res, { sessions: channel.sessionCount, id: String(broadcastSeq) });
}

function sendJson(res, value) {
  res.writeHead(200, { "Content-Type": "application/json" }).end(`${JSON.stringify(value)}\n`);
}

const routes = {
  "/stream": stream,
  "/close-after": closeAfter,
  "/ping": ping,
  "/post": post,
  "/channel": channelStream,
  "/channel/sessions": (req, res) => sendJson(res, { sessions: channel.sessionCount }),
  "/broadcast": (req, res, url) => broadcast(res, url),
  "/health": (req, res) => res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n"),
};

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  const route = routes[url.pathname];
  if (!route) {
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    return;
  }
  Promise.resolve()
    .then(() => route(req, res, url))
    .catch((err) => {
      // A client that leaves mid-stream makes better-sse refuse further pushes.
      if (err?.name !== "SseError") console.error(err);
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
});

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    "ready-file": { type: "string" },
    "watch-stdin": { type: "boolean", default: false },
    "max-lifetime": { type: "string", default: "1800" },
  },
});

function stop() {
  server.closeAllConnections();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (args["watch-stdin"]) {
  // A harness that dies closes the pipe, so the server never outlives it.
  process.stdin.on("end", stop);
  process.stdin.resume();
}
const lifetime = Number(args["max-lifetime"]);
if (lifetime > 0) setTimeout(stop, lifetime * 1000).unref();

server.listen(Number(args.port), args.host, () => {
  const line = JSON.stringify({ port: server.address().port, server: "better-sse", pid: process.pid });
  if (args["ready-file"]) {
    const tmp = `${args["ready-file"]}.tmp`;
    writeFileSync(tmp, `${line}\n`);
    renameSync(tmp, args["ready-file"]);
  }
  console.log(line);
});
