// Failover dispatch (docs/CONFIG.md, "Failover"): connection errors, timeouts, 408/429/5xx move
// on to the next mapping while nothing reached the client; other 4xx go straight back; a stream
// that breaks after its first byte ends with an Anthropic error event; cool-down skips a failing
// provider (logged) until one trial decides.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  messageEvents,
  messageJson,
  refusedPort,
  startUpstreamStub,
  type UpstreamStub,
} from "./helpers/upstream_stub.ts";
import { providerChain, startCcmux } from "./helpers/ccmux_server.ts";
import Anthropic from "@anthropic-ai/sdk";
import { createServer, type Socket } from "node:net";
import { isDeno } from "../src/runtime/info.ts";

/** A config with providers p1..pN at `urls`, and model "m" mapped to them in order. */
const chain = (urls: string[], extra = "") => providerChain(urls, { extra });

function post(url: string, body: Record<string, unknown> = {}) {
  return fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "m", max_tokens: 10, messages: [], ...body }),
  });
}

const overloaded = {
  status: 529,
  json: { type: "error", error: { type: "overloaded_error", message: "Overloaded (p2)" } },
};

async function closeAll(...things: { close(): Promise<void> }[]) {
  for (const t of things) await t.close();
}

describe("failover", () => {
  test("refused → 529 → answer: the client gets the third's answer, the log shows both steps", async () => {
    const dead = await refusedPort();
    const p2 = await startUpstreamStub(overloaded);
    const p3 = await startUpstreamStub({ json: messageJson("from p3") });
    const ccmux = await startCcmux(chain([dead.url, p2.url, p3.url]));
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.content[0].text, "from p3");
      assert.equal(p2.requests.length, 1);
      assert.equal(p2.requests[0].json?.model, "model-2");
      assert.equal(p3.requests[0].json?.model, "model-3");
      assert.equal(p3.requests[0].headers["x-api-key"], "key-p3");
      const line = await ccmux.waitForLog(/POST \/v1\/messages 200/);
      assert.match(line, /failover: p1 connect ECONNREFUSED → p2 529 → p3 200/);
      assert.match(line, /m → p3\/model-3/);
    } finally {
      await closeAll(ccmux, p2, p3, dead);
    }
  });

  test("a 400 from the first goes straight back; the second is never called", async () => {
    const bad = {
      type: "error",
      error: { type: "invalid_request_error", message: "max_tokens: too large" },
    };
    const p1 = await startUpstreamStub({ status: 400, json: bad });
    const p2 = await startUpstreamStub();
    const ccmux = await startCcmux(chain([p1.url, p2.url]));
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), bad);
      assert.equal(p2.requests.length, 0);
    } finally {
      await closeAll(ccmux, p1, p2);
    }
  });

  test("a stream that breaks after its first byte ends with an error event, no failover", async () => {
    const p1 = await startUpstreamStub({ events: messageEvents(["a", "b", "c"]), breakAfter: 3 });
    const p2 = await startUpstreamStub();
    const ccmux = await startCcmux(chain([p1.url, p2.url]));
    try {
      const res = await post(ccmux.url, { stream: true });
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.ok(text.startsWith("event: message_start\n"));
      const events = text.trim().split("\n\n");
      assert.equal(events.length, 4);
      const last = events[3].split("\n");
      assert.equal(last[0], "event: error");
      const data = JSON.parse(last[1].slice("data: ".length));
      assert.equal(data.type, "error");
      assert.equal(data.error.type, "api_error");
      assert.equal(p2.requests.length, 0);
      await ccmux.waitForLog(/upstream failed mid-response/);
    } finally {
      await closeAll(ccmux, p1, p2);
    }
  });

  test("a break in the middle of an event drops that partial event before the error event", async () => {
    const p1 = await startUpstreamStub({
      events: ['event: ping\ndata: {"type": "ping"}\n\n', 'event: content_block_delta\ndata: {"ty'],
      breakAfter: 2,
    });
    const ccmux = await startCcmux(chain([p1.url]));
    try {
      const res = await post(ccmux.url, { stream: true });
      const text = await res.text();
      const events = text.split("\n\n");
      assert.equal(events[0], 'event: ping\ndata: {"type": "ping"}');
      assert.match(events[1], /^event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
      assert.equal(events[2], "");
      assert.equal(events.length, 3);
    } finally {
      await closeAll(ccmux, p1);
    }
  });

  test("events split across chunks (LF and CRLF) arrive whole; a CRLF partial event is dropped", async () => {
    const p1 = await startUpstreamStub({
      events: [
        'event: ping\r\ndata: {"type":',
        ' "ping"}\r\n\r\nevent: ping\ndata: {"type": "ping"}\n\nevent: message_start\r\ndata: {',
        '"type": "x"}\r\n\r\nevent: content_block_delta\r\ndata: {"ty',
      ],
      breakAfter: 3,
    });
    const ccmux = await startCcmux(chain([p1.url]));
    try {
      const res = await post(ccmux.url, { stream: true });
      const text = await res.text();
      assert.ok(
        text.startsWith(
          'event: ping\r\ndata: {"type": "ping"}\r\n\r\nevent: ping\ndata: {"type": "ping"}\n\n' +
            'event: message_start\r\ndata: {"type": "x"}\r\n\r\nevent: error\ndata: ',
        ),
        text,
      );
      assert.equal(text.includes("content_block_delta"), false);
      assert.ok(text.endsWith("\n\n"));
    } finally {
      await closeAll(ccmux, p1);
    }
  });

  test("the Anthropic SDK sees ccmux's error event when a stream breaks mid-event", async () => {
    const events = messageEvents(["a", "b"]);
    const p1 = await startUpstreamStub({
      events: [...events.slice(0, 3), 'event: content_block_delta\ndata: {"type":"con'],
      breakAfter: 4,
    });
    const ccmux = await startCcmux(chain([p1.url]));
    try {
      const client = new Anthropic({ apiKey: "unused", baseURL: ccmux.url, maxRetries: 0 });
      const stream = await client.messages.create({
        model: "m",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      });
      const seen: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const e of stream) seen.push(e.type);
        })(),
        (e: Error) => {
          assert.match(e.message, /upstream response broke off/);
          return true;
        },
      );
      assert.deepEqual(seen, ["message_start", "content_block_start", "content_block_delta"]);
    } finally {
      await closeAll(ccmux, p1);
    }
  });

  test("when all fail: the last upstream error unchanged, else 502 / 504 in Anthropic's shape", async () => {
    const dead = await refusedPort();
    const p1 = await startUpstreamStub(overloaded);
    let ccmux = await startCcmux(chain([p1.url, dead.url]));
    let slow: UpstreamStub | undefined;
    try {
      let res = await post(ccmux.url);
      assert.equal(res.status, 529);
      assert.deepEqual(await res.json(), overloaded.json);
      await ccmux.close();

      ccmux = await startCcmux(chain([dead.url]));
      res = await post(ccmux.url);
      assert.equal(res.status, 502);
      const e502 = await res.json();
      assert.equal(e502.type, "error");
      assert.equal(e502.error.type, "api_error");
      assert.match(e502.error.message, /p1 connect ECONNREFUSED/);
      await ccmux.close();

      // No response headers within api_timeout_ms: a timeout, then 504.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      slow = await startUpstreamStub(async () => {
        await held;
        return { events: messageEvents() };
      });
      ccmux = await startCcmux(chain([slow.url], "[server.timeouts]\napi_timeout_ms = 300"));
      res = await post(ccmux.url, { stream: true });
      release();
      assert.equal(res.status, 504);
      const e504 = await res.json();
      assert.equal(e504.error.type, "timeout_error");
      assert.match(e504.error.message, /p1 timeout/);
    } finally {
      await closeAll(ccmux, p1, dead);
      if (slow) await slow.close();
    }
  });

  test("slow response headers (a cold model load) are not a connect timeout", async () => {
    const slow = await startUpstreamStub(async (req) => {
      await new Promise((r) => setTimeout(r, 1000));
      return req.json?.stream === true ? { events: messageEvents() } : { json: messageJson() };
    });
    const p2 = await startUpstreamStub();
    const ccmux = await startCcmux(
      chain([slow.url, p2.url], "[server.timeouts]\nconnect_timeout_ms = 100"),
    );
    try {
      for (const stream of [true, false]) {
        const res = await post(ccmux.url, { stream });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      assert.equal(p2.requests.length, 0);
    } finally {
      await closeAll(ccmux, slow, p2);
    }
  });

  test("a connection that never completes fails over (Node: after connect_timeout_ms)", async () => {
    // Accepts TCP but never answers the TLS handshake.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const p2 = await startUpstreamStub({ json: messageJson("from p2") });
    // Deno's fetch has no connect hook: there only api_timeout_ms ends the attempt.
    const timeouts = isDeno
      ? "connect_timeout_ms = 200\napi_timeout_ms = 2000"
      : "connect_timeout_ms = 200\napi_timeout_ms = 120000";
    const ccmux = await startCcmux(
      chain([`https://127.0.0.1:${port}`, p2.url], `[server.timeouts]\n${timeouts}`),
    );
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).content[0].text, "from p2");
      const line = await ccmux.waitForLog(/POST \/v1\/messages 200/);
      assert.match(line, isDeno ? /failover: p1 timeout → p2 200/ : /p1 connect timeout → p2 200/);
    } finally {
      await closeAll(ccmux, p2);
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  test("a provider failing cooldown_failures times in a row is skipped for cooldown_s", async () => {
    const dead = await refusedPort();
    const p2 = await startUpstreamStub();
    const ccmux = await startCcmux(
      chain(
        [dead.url, p2.url],
        "[router]\ncooldown_failures = 2\ncooldown_s = 600",
      ),
    );
    try {
      for (let i = 0; i < 3; i++) {
        const res = await post(ccmux.url);
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      const lines = ccmux.logs.filter((l) => l.includes("POST /v1/messages"));
      assert.equal(lines.length, 3);
      assert.match(lines[0], /p1 connect ECONNREFUSED → p2 200/);
      assert.match(lines[1], /p1 connect ECONNREFUSED → p2 200/);
      assert.doesNotMatch(lines[2], /ECONNREFUSED/);
      assert.match(lines[2], /failover: p1 skipped \(cooling down\) → p2 200/);
      assert.match(lines[2], / → p2\/model-2/);
    } finally {
      await closeAll(ccmux, p2, dead);
    }
  });

  test("after a cool-down one trial decides: a failure re-opens it at once, a success closes it", async () => {
    const p1 = await startUpstreamStub(overloaded);
    const p2 = await startUpstreamStub({ json: messageJson("from p2") });
    const ccmux = await startCcmux(
      chain([p1.url, p2.url], "[router]\ncooldown_failures = 2\ncooldown_s = 1"),
    );
    const send = async () => {
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      return (await res.json()).content[0].text;
    };
    const lines = () => ccmux.logs.filter((l) => l.includes("POST /v1/messages"));
    try {
      await send();
      await send(); // second failure in a row: p1 cools down for 1 s
      assert.equal(p1.requests.length, 2);
      await send();
      assert.equal(p1.requests.length, 2);
      assert.match(lines()[2], /p1 skipped \(cooling down\) → p2 200/);

      await new Promise((r) => setTimeout(r, 1100));
      await send(); // the trial: p1 fails again
      assert.equal(p1.requests.length, 3);
      await send(); // skipped at once, not after two more failures
      assert.equal(p1.requests.length, 3);
      assert.match(lines()[4], /p1 skipped \(cooling down\) → p2 200/);

      p1.reply({ json: messageJson("from p1") });
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await send(), "from p1"); // the trial succeeds: closed
      assert.equal(await send(), "from p1");
      assert.equal(p1.requests.length, 5);
    } finally {
      await closeAll(ccmux, p1, p2);
    }
  });

  test("a refused port is reserved while held: nothing can listen on it, connections are refused", async () => {
    const dead = await refusedPort();
    try {
      const other = createServer();
      const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        other.once("error", resolve);
        other.listen(dead.port, "127.0.0.1", () => resolve(undefined));
      });
      if (!err) await new Promise((r) => other.close(r));
      assert.equal(err?.code, "EADDRINUSE");
      await assert.rejects(
        fetch(dead.url),
        (e: Error & { cause?: { code?: string; message?: string } }) => {
          assert.match(`${e.cause?.code} ${e.cause?.message} ${e.message}`, /refused/i);
          return true;
        },
      );
    } finally {
      await dead.close();
    }
  });

  test("a short retry-after is waited for before the last candidate", async () => {
    const p1 = await startUpstreamStub({
      status: 429,
      headers: { "retry-after": "1" },
      json: { type: "error", error: { type: "rate_limit_error", message: "slow down" } },
    });
    const p2 = await startUpstreamStub();
    const ccmux = await startCcmux(chain([p1.url, p2.url]));
    try {
      const t0 = Date.now();
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      // A lower bound only: the wait happened (never an upper bound on a busy machine).
      assert.ok(Date.now() - t0 >= 900);
      assert.match(await ccmux.waitForLog(/ 200 /), /p1 429 → p2 200/);
    } finally {
      await closeAll(ccmux, p1, p2);
    }
  });
});
