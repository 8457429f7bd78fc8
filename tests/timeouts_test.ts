// The two upstream timeouts (docs/CONFIG.md, "[server]"): api_timeout_ms bounds the wait for the
// response headers only, idle_timeout_ms the silence between two chunks of the body, so an answer
// that keeps streaming is never cut however long it runs; and every *_ms key is capped at
// 2147483647 (the largest delay a JavaScript timer keeps).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { messageEvents, startUpstreamStub, type StubEvent } from "./helpers/upstream_stub.ts";
import { startCcmux, testConfig } from "./helpers/ccmux_server.ts";
import { ConfigError } from "../src/config/validate.ts";
import { showConfig } from "../src/config/show.ts";

function config(url: string, timeouts: string, type = "anthropic"): string {
  return `
[server.timeouts]
${timeouts}

[[providers]]
name = "p1"
provider_type = "${type}"
auth_type = "apikey"
api_key = "key-p1"
base_url = "${url}"

[[models]]
name = "m"
[[models.mappings]]
provider = "p1"
actual_model = "model-1"
priority = 1
`;
}

function post(url: string) {
  return fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "m",
      max_tokens: 10,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    }),
  });
}

/** An OpenAI Chat Completions stream, as raw SSE chunks. */
function chatStream(parts: string[]): StubEvent[] {
  const chunk = (delta: unknown, finish: string | null = null) =>
    `data: ${
      JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        created: 1764170000,
        model: "gpt",
        choices: [{ index: 0, delta, finish_reason: finish }],
      })
    }\n\n`;
  return [
    chunk({ role: "assistant", content: "" }),
    ...parts.map((p) => chunk({ content: p })),
    chunk({}, "stop"),
    "data: [DONE]\n\n",
  ];
}

describe("upstream timeouts", () => {
  test("a stream that keeps flowing past api_timeout_ms is not cut", async () => {
    const parts = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const p1 = await startUpstreamStub({ events: messageEvents(parts), delayMs: 150 });
    const ccmux = await startCcmux(
      config(p1.url, "api_timeout_ms = 400"),
    );
    try {
      const t0 = Date.now();
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.ok(Date.now() - t0 > 400, "the stream ran longer than api_timeout_ms");
      assert.equal(text.includes("event: error"), false, text);
      assert.ok(text.includes("event: message_stop"));
      const line = await ccmux.waitForLog(/POST \/v1\/messages 200/);
      assert.doesNotMatch(line, /error=/);
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });

  test("slow response headers are bounded by api_timeout_ms, not idle_timeout_ms", async () => {
    const p1 = await startUpstreamStub(async () => {
      await new Promise((r) => setTimeout(r, 600));
      return { events: messageEvents() };
    });
    const ccmux = await startCcmux(
      config(p1.url, "api_timeout_ms = 20000\nidle_timeout_ms = 200"),
    );
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.ok(text.includes("event: message_stop"), text);
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });

  for (const type of ["anthropic", "openai"]) {
    test(`${type}: silence longer than idle_timeout_ms ends the stream with an error event`, async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const events = type === "anthropic" ? messageEvents(["a", "b"]) : chatStream(["a", "b"]);
      const p1 = await startUpstreamStub({
        events,
        gate: (i) => (i === 3 ? held : Promise.resolve()),
      });
      const base = type === "anthropic" ? p1.url : `${p1.url}/v1`;
      const ccmux = await startCcmux(
        config(base, "api_timeout_ms = 20000\nidle_timeout_ms = 300", type),
      );
      try {
        const t0 = Date.now();
        const res = await post(ccmux.url);
        assert.equal(res.status, 200);
        const text = await res.text();
        // A lower bound only (a busy machine may be slower, never faster).
        assert.ok(Date.now() - t0 >= 300);
        assert.match(text, /event: error\ndata: .*sent nothing for 300 ms/);
        assert.ok(text.includes("content_block_delta"), "events before the silence arrived");
        const line = await ccmux.waitForLog(/POST \/v1\/messages 200/);
        if (type === "anthropic") {
          assert.match(line, /error="upstream failed mid-response: .*sent nothing for 300 ms"/);
        }
        assert.equal(await p1.requests[0].finished, "aborted");
      } finally {
        release();
        await ccmux.close();
        await p1.close();
      }
    });
  }
});

describe("timeout keys", () => {
  test("idle_timeout_ms defaults to 300000 and is shown by config show", () => {
    const c = testConfig("");
    assert.equal(c.server.timeouts.idle_timeout_ms, 300000);
    assert.equal(c.server.timeouts.api_timeout_ms, 600000);
    assert.match(showConfig(c), /idle_timeout_ms = 300000/);
    const set = testConfig("[server.timeouts]\nidle_timeout_ms = 1234");
    assert.equal(set.server.timeouts.idle_timeout_ms, 1234);
  });

  for (const key of ["api_timeout_ms", "connect_timeout_ms", "idle_timeout_ms"]) {
    test(`${key}: 2147483647 is accepted, 2147483648 (2^31) and more are refused`, () => {
      const ok = testConfig(`[server.timeouts]\n${key} = 2147483647`);
      assert.equal((ok.server.timeouts as Record<string, number>)[key], 2147483647);
      for (const bad of [2 ** 31, 2 ** 40]) {
        assert.throws(
          () => testConfig(`[server.timeouts]\n${key} = ${bad}`),
          (e: unknown) => {
            assert.ok(e instanceof ConfigError);
            assert.equal(e.issues.length, 1);
            assert.equal(e.issues[0].path, `server.timeouts.${key}`);
            assert.match(e.issues[0].message, /from 1 to 2147483647/);
            return true;
          },
        );
      }
    });
  }
});
