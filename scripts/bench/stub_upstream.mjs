// Stub upstream for the benchmark: Anthropic /v1/messages and OpenAI /v1/chat/completions,
// JSON and SSE, with fixed small responses prepared once so the stub costs as little as
// possible (it shares the machine's cores with the proxy under test and the load driver).
//
//   node scripts/bench/stub_upstream.mjs [port]   → prints "listening PORT" on stdout
//
// A request body containing BENCH_SLOW_STREAM gets a paced stream instead: text deltas whose
// text is "@<send time in ms>@", one every BENCH_SLOW_GAP_MS (default 150); the streaming check
// compares those with the time each one reaches the client.
import http from "node:http";
import process from "node:process";

const GAP_MS = Number(process.env.BENCH_SLOW_GAP_MS ?? 150);
const SLOW_EVENTS = 5;
const now = () => performance.timeOrigin + performance.now();

const sse = (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const oai = (data) => `data: ${JSON.stringify(data)}\n\n`;
const MODEL = "claude-sonnet-4-5";
const USAGE = { input_tokens: 1234, output_tokens: 12 };

const anthropicJson = Buffer.from(JSON.stringify({
  id: "msg_01BenchStubAAAAAAAAAAAAA",
  type: "message",
  role: "assistant",
  model: MODEL,
  content: [{ type: "text", text: "Hello from the benchmark stub. This is a short reply." }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { ...USAGE, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
}));

function anthropicEvents(texts) {
  return [
    sse("message_start", {
      type: "message_start",
      message: {
        id: "msg_01BenchStubAAAAAAAAAAAAA",
        type: "message",
        role: "assistant",
        model: MODEL,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: USAGE.input_tokens, output_tokens: 1 },
      },
    }),
    sse("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    }),
    sse("ping", { type: "ping" }),
    ...texts.map((text) =>
      sse("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text },
      })
    ),
    sse("content_block_stop", { type: "content_block_stop", index: 0 }),
    sse("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: USAGE.output_tokens },
    }),
    sse("message_stop", { type: "message_stop" }),
  ];
}
const anthropicStream = anthropicEvents(["Hello from the ", "benchmark stub. ", "A short reply."])
  .map((s) => Buffer.from(s));

const chunkBase = {
  id: "chatcmpl-bench",
  object: "chat.completion.chunk",
  created: 1,
  model: MODEL,
};
function openaiEvents(texts) {
  return [
    oai({ ...chunkBase, choices: [{ index: 0, delta: { role: "assistant", content: "" } }] }),
    ...texts.map((content) =>
      oai({ ...chunkBase, choices: [{ index: 0, delta: { content }, finish_reason: null }] })
    ),
    oai({ ...chunkBase, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
    oai({
      ...chunkBase,
      choices: [],
      usage: { prompt_tokens: USAGE.input_tokens, completion_tokens: 12, total_tokens: 1246 },
    }),
    "data: [DONE]\n\n",
  ];
}
const openaiStream = openaiEvents(["Hello from the ", "benchmark stub. ", "A short reply."])
  .map((s) => Buffer.from(s));
const openaiJson = Buffer.from(JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1,
  model: MODEL,
  choices: [{
    index: 0,
    message: {
      role: "assistant",
      content: "Hello from the benchmark stub. This is a short reply.",
    },
    finish_reason: "stop",
  }],
  usage: { prompt_tokens: USAGE.input_tokens, completion_tokens: 12, total_tokens: 1246 },
}));

const JSON_HEADERS = {
  "content-type": "application/json",
  "request-id": "req_bench_stub",
  "anthropic-ratelimit-requests-remaining": "999",
  "anthropic-ratelimit-tokens-remaining": "999999",
};
const SSE_HEADERS = {
  ...JSON_HEADERS,
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
};
const STREAM_RE = /"stream"\s*:\s*true/;

function streamOut(res, chunks) {
  res.writeHead(200, SSE_HEADERS);
  for (const c of chunks) res.write(c);
  res.end();
}

function slowStream(res, openai) {
  res.writeHead(200, SSE_HEADERS);
  const make = openai ? openaiEvents : anthropicEvents;
  // Head events (start, block start) now; then one paced text delta at a time.
  const head = make([]).slice(0, openai ? 1 : 3);
  const tail = make([]).slice(openai ? 1 : 3);
  for (const h of head) res.write(h);
  let i = 0;
  const tick = () => {
    const text = `@${now().toFixed(3)}@`;
    const ev = make([text]);
    res.write(ev[openai ? 1 : 3]);
    if (++i < SLOW_EVENTS) setTimeout(tick, GAP_MS);
    else {setTimeout(() => {
        for (const t of tail) res.write(t);
        res.end();
      }, GAP_MS);}
  };
  setTimeout(tick, GAP_MS);
}

const server = http.createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  const parts = [];
  req.on("data", (c) => parts.push(c));
  req.on("end", () => {
    // Every proxy must send some credential upstream; a request without one is an error.
    if (!req.headers["x-api-key"] && !req.headers["authorization"]) {
      res.writeHead(401, JSON_HEADERS);
      res.end('{"type":"error","error":{"type":"authentication_error","message":"no key"}}');
      return;
    }
    const body = Buffer.concat(parts).toString("latin1");
    const openai = req.url.startsWith("/v1/chat/completions");
    if (!openai && !req.url.startsWith("/v1/messages")) {
      res.writeHead(404, JSON_HEADERS);
      res.end('{"type":"error","error":{"type":"not_found_error","message":"not found"}}');
      return;
    }
    if (body.includes("BENCH_SLOW_STREAM")) return slowStream(res, openai);
    if (STREAM_RE.test(body)) return streamOut(res, openai ? openaiStream : anthropicStream);
    res.writeHead(200, JSON_HEADERS);
    res.end(openai ? openaiJson : anthropicJson);
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
