// Stub upstream for the benchmark: Anthropic /v1/messages and OpenAI /v1/chat/completions,
// JSON and SSE, with fixed small responses prepared once so the stub costs as little as
// possible (it shares the machine's cores with the proxy under test and the load driver).
// OpenAI Responses `POST …/responses` (the Codex backend's /backend-api/codex/responses and the
// public API's /v1/responses) always answers a Codex-like SSE stream (no [DONE]), after the
// checks the real backends make: bearer token, ChatGPT-Account-ID (codex), and the body rules
// (codex: stream true, store false, non-empty instructions, none of max_output_tokens,
// temperature, top_p, ...; both: input items that hang together), so a broken translation
// shows as errors. Those checks parse the body: the stub's own cost, not the proxy's.
//
//   node scripts/bench/stub_upstream.mjs [port]   → prints "listening PORT" on stdout
//
// A request body containing BENCH_SLOW_STREAM gets a paced stream instead: text deltas whose
// text is "@<send time in ms>@", one every BENCH_SLOW_GAP_MS (default 150); the streaming check
// compares those with the time each one reaches the client.
import http from "node:http";
import process from "node:process";

const GAP_MS = Number(process.env.BENCH_SLOW_GAP_MS ?? 150);
// What the codex provider must present (the bench's token file holds the same values).
const CODEX_TOKEN = process.env.BENCH_CODEX_TOKEN ?? "codex-bench-access-token";
const CODEX_ACCOUNT = process.env.BENCH_CODEX_ACCOUNT ?? "acct-bench-1";
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

// OpenAI Responses (Codex) stream: the events the backend sends for a text answer, each its own
// write, as `event: TYPE\ndata: JSON`; the last is response.completed with usage, no [DONE].
const RESP_MODEL = "gpt-5.5";
const RESP_USAGE = {
  input_tokens: USAGE.input_tokens,
  input_tokens_details: { cached_tokens: 1024 },
  output_tokens: USAGE.output_tokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: USAGE.input_tokens + USAGE.output_tokens,
};
function responsesEvents(texts) {
  const ev = [];
  const add = (type, rest) =>
    ev.push(
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: ev.length, ...rest })}\n\n`,
    );
  const resp = (status, extra) => ({
    id: "resp_bench_stub",
    object: "response",
    created_at: 1764000000,
    status,
    model: RESP_MODEL,
    output: [],
    ...extra,
  });
  const item_id = "msg_bench_stub";
  const base = { item_id, output_index: 0, content_index: 0 };
  const full = texts.join("");
  const done = {
    id: item_id,
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: full, annotations: [] }],
  };
  add("response.created", { response: resp("in_progress") });
  add("response.in_progress", { response: resp("in_progress") });
  add("response.output_item.added", {
    output_index: 0,
    item: { id: item_id, type: "message", role: "assistant", status: "in_progress", content: [] },
  });
  add("response.content_part.added", {
    ...base,
    part: { type: "output_text", text: "", annotations: [] },
  });
  for (const delta of texts) add("response.output_text.delta", { ...base, delta });
  add("response.output_text.done", { ...base, text: full });
  add("response.content_part.done", {
    ...base,
    part: { type: "output_text", text: full, annotations: [] },
  });
  add("response.output_item.done", { output_index: 0, item: done });
  add("response.completed", { response: resp("completed", { output: [done], usage: RESP_USAGE }) });
  return ev;
}
const responsesStream = responsesEvents(["Hello from the ", "benchmark stub. ", "A short reply."])
  .map((s) => Buffer.from(s));
/** responsesEvents' head (before the first delta) and the index of the first delta. */
const RESP_HEAD = 4;

// Fields the Codex backend refuses with 400 {"detail": "Unsupported parameter: NAME"}.
const CODEX_UNSUPPORTED = [
  "max_output_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "truncation",
  "user",
  "stop",
  "frequency_penalty",
  "presence_penalty",
  "previous_response_id",
  "stream_options",
];
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The error answer for a Responses request that breaks a rule, or null. */
function checkResponses(req, codex, text) {
  const detail = (message) => [400, { detail: message }];
  const invalid = (message, param = null) => [
    400,
    { error: { message, type: "invalid_request_error", param, code: null } },
  ];
  const auth = req.headers["authorization"] ?? "";
  if (codex && auth !== `Bearer ${CODEX_TOKEN}`) {
    return [401, {
      error: { message: "Provided authentication token is invalid.", code: "token_invalid" },
    }];
  }
  if (codex && req.headers["chatgpt-account-id"] !== CODEX_ACCOUNT) {
    return [403, { detail: "stub: missing or wrong ChatGPT-Account-ID" }];
  }
  let b;
  try {
    b = JSON.parse(text);
  } catch {
    return codex ? detail("stub: body is not JSON") : invalid("We could not parse the JSON body.");
  }
  if (!b || typeof b !== "object" || Array.isArray(b)) return detail("stub: body is not an object");
  if (codex) {
    if (typeof b.instructions !== "string" || b.instructions === "") {
      return detail("Instructions are required");
    }
    if (b.store !== false) return detail("Store must be set to false");
    if (b.stream !== true) return detail("Stream must be set to true");
    for (const f of CODEX_UNSUPPORTED) if (f in b) return detail(`Unsupported parameter: ${f}`);
  } else if (b.stream !== true) {
    // The public API would answer JSON; ccmux always streams, so this stub only streams.
    return invalid("stub: this benchmark stub only answers streams", "stream");
  }
  if (typeof b.model !== "string" || b.model === "") {
    return invalid("Missing required parameter: 'model'.", "model");
  }
  if (!Array.isArray(b.input)) return invalid("stub: input must be an array", "input");
  const calls = new Set();
  for (const [i, item] of b.input.entries()) {
    if (!item || typeof item !== "object") return invalid(`Invalid 'input[${i}]'.`, "input");
    if (typeof item.call_id === "string" && item.call_id.length > 64) {
      return invalid(`Invalid 'input[${i}].call_id': string too long.`, "input");
    }
    if (item.type === "function_call") calls.add(item.call_id);
    if (item.type === "function_call_output" && !calls.has(item.call_id)) {
      return invalid(
        `No tool call found for function call output with call_id ${item.call_id}.`,
        "input",
      );
    }
    if (
      item.type === "message" && !Array.isArray(item.content) && typeof item.content !== "string"
    ) {
      return invalid(`Invalid 'input[${i}].content'.`, "input");
    }
  }
  for (const [i, t] of (Array.isArray(b.tools) ? b.tools : []).entries()) {
    if (typeof t?.name !== "string" || !TOOL_NAME.test(t.name)) {
      return invalid(`Invalid 'tools[${i}].name': must match ^[a-zA-Z0-9_-]{1,64}$.`, "tools");
    }
  }
  return null;
}

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

// The Responses backends' SSE answer carries x-request-id (no Anthropic headers).
const RESP_SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-request-id": "req_bench_stub",
};

function streamOut(res, chunks, headers = SSE_HEADERS) {
  res.writeHead(200, headers);
  for (const c of chunks) res.write(c);
  res.end();
}

function slowStream(res, kind) {
  res.writeHead(200, SSE_HEADERS);
  const make = kind === "openai"
    ? openaiEvents
    : kind === "responses"
    ? responsesEvents
    : anthropicEvents;
  const at = kind === "openai" ? 1 : kind === "responses" ? RESP_HEAD : 3;
  // Head events (start, block start) now; then one paced text delta at a time.
  const head = make([]).slice(0, at);
  for (const h of head) res.write(h);
  const sent = [];
  let i = 0;
  const tick = () => {
    const text = `@${now().toFixed(3)}@`;
    sent.push(text);
    const ev = make([text]);
    res.write(ev[at]);
    if (++i < SLOW_EVENTS) setTimeout(tick, GAP_MS);
    else {setTimeout(() => {
        // The tail as it follows these deltas (a Responses "done" event repeats the whole text).
        for (const t of make(sent).slice(at + sent.length)) res.write(t);
        res.end();
      }, GAP_MS);}
  };
  setTimeout(tick, GAP_MS);
}

// Connections accepted so far: GET /bench-stats tells the harness, which reads it before and
// after each load to see how many upstream connections a proxy opened per request.
let connections = 0;
const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/bench-stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ connections }));
    return;
  }
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
    const path = req.url.split("?")[0];
    if (path === "/backend-api/codex/responses" || path === "/v1/responses") {
      const text = Buffer.concat(parts).toString("utf8");
      const bad = checkResponses(req, path.startsWith("/backend-api/"), text);
      if (bad) {
        res.writeHead(bad[0], {
          "content-type": "application/json",
          "x-request-id": "req_bench_stub",
        });
        res.end(JSON.stringify(bad[1]));
        return;
      }
      if (text.includes("BENCH_SLOW_STREAM")) return slowStream(res, "responses");
      return streamOut(res, responsesStream, RESP_SSE_HEADERS);
    }
    const body = Buffer.concat(parts).toString("latin1");
    const openai = req.url.startsWith("/v1/chat/completions");
    if (!openai && !req.url.startsWith("/v1/messages")) {
      res.writeHead(404, JSON_HEADERS);
      res.end('{"type":"error","error":{"type":"not_found_error","message":"not found"}}');
      return;
    }
    if (body.includes("BENCH_SLOW_STREAM")) return slowStream(res, openai ? "openai" : "anthropic");
    if (STREAM_RE.test(body)) return streamOut(res, openai ? openaiStream : anthropicStream);
    res.writeHead(200, JSON_HEADERS);
    res.end(openai ? openaiJson : anthropicJson);
  });
});
server.on("connection", () => connections++);
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
