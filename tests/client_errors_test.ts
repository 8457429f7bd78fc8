// A client's own bad request is the client's 400 (docs/CONFIG.md, "Failover"), never a failover
// or a provider's cool-down: bodies nested too deeply for ccmux to rewrite, and, on the OpenAI
// path, members of the wrong type that translation would otherwise quietly drop or rewrite.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { startUpstreamStub } from "./helpers/upstream_stub.ts";
import { startOpenAIStub } from "./helpers/openai_stub.ts";
import { startCcmux } from "./helpers/ccmux_server.ts";

type Obj = Record<string, unknown>;

function providers(type: string, ...urls: string[]): string {
  let toml = "[router]\ncooldown_failures = 1\ncooldown_s = 600\n";
  urls.forEach((url, i) => {
    toml += `[[providers]]
name = "p${i + 1}"
provider_type = "${type}"
auth_type = "apikey"
api_key = "key-p${i + 1}"
base_url = "${url}"
`;
  });
  for (const name of ["m", "fast"]) {
    toml += `[[models]]\nname = "${name}"\n`;
    urls.forEach((_, i) => {
      toml += `[[models.mappings]]
provider = "p${i + 1}"
actual_model = "model-${i + 1}"
priority = ${i + 1}
`;
    });
  }
  return toml;
}

/** A body whose text is built by hand (a JSON value 20,000 arrays deep cannot be stringified). */
function deepBody(depth: number, extra: Obj = {}): string {
  const deep = "[".repeat(depth) + "]".repeat(depth);
  const base = JSON.stringify({
    model: "m",
    max_tokens: 10,
    system: [{ type: "text", text: "Sub agent. <CCM-SUBAGENT-MODEL>fast</CCM-SUBAGENT-MODEL>" }],
    ...extra,
  });
  return base.slice(0, -1) +
    `,"messages":[{"role":"user","content":[{"type":"text","text":"hi","extra":${deep}}]}]}`;
}

function postRaw(url: string, body: string) {
  return fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body,
  });
}

async function assertInvalid(res: Response, field: RegExp) {
  const text = await res.text();
  assert.equal(res.status, 400, text);
  const body = JSON.parse(text);
  assert.equal(body.type, "error");
  assert.equal(body.error.type, "invalid_request_error");
  assert.match(body.error.message, field);
}

describe("a client's bad request is its own 400", () => {
  for (const type of ["anthropic", "openai"]) {
    test(`${type}: 20,000-deep nesting (with a subagent tag) is a 400; no failover, no cool-down`, async () => {
      const stubs = type === "anthropic"
        ? [await startUpstreamStub(), await startUpstreamStub()]
        : [await startOpenAIStub(), await startOpenAIStub()];
      const urls = stubs.map((s) => "baseUrl" in s ? s.baseUrl : s.url);
      const ccmux = await startCcmux(providers(type, ...urls));
      try {
        for (let i = 0; i < 3; i++) {
          await assertInvalid(
            await postRaw(ccmux.url, deepBody(20_000)),
            /nests .* more than 512 levels/,
          );
        }
        for (const s of stubs) assert.equal(s.requests.length, 0);
        // p1 was not cooled down (cooldown_failures = 1): a good request still goes to it.
        const ok = await postRaw(
          ccmux.url,
          JSON.stringify({
            model: "m",
            max_tokens: 10,
            messages: [{ role: "user", content: "x" }],
          }),
        );
        assert.equal(ok.status, 200);
        await ok.arrayBuffer();
        assert.equal(stubs[0].requests.length, 1);
        assert.equal(stubs[1].requests.length, 0);
        const lines = ccmux.logs.filter((l) => l.includes("POST /v1/messages"));
        assert.equal(lines.length, 4);
        for (const l of lines) assert.doesNotMatch(l, /failover|call stack/);
      } finally {
        await ccmux.close();
        for (const s of stubs) await s.close();
      }
    });
  }

  test("moderate nesting (100 deep) still goes through with a subagent tag", async () => {
    const p1 = await startUpstreamStub();
    const ccmux = await startCcmux(providers("anthropic", p1.url));
    try {
      const res = await postRaw(ccmux.url, deepBody(100));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(p1.requests.length, 1);
      assert.equal(p1.requests[0].json?.model, "model-1");
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });

  test("anthropic without a tag: the deep body goes upstream untouched (the upstream judges it)", async () => {
    const p1 = await startUpstreamStub();
    const ccmux = await startCcmux(providers("anthropic", p1.url));
    try {
      const body = deepBody(20_000).replace(/<CCM-SUBAGENT-MODEL>fast<\/CCM-SUBAGENT-MODEL>/, "");
      const res = await postRaw(ccmux.url, body);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(Buffer.from(p1.requests[0].body).toString(), body.replace('"m"', '"model-1"'));
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });
});

describe("routing walks deep bodies without recursion limits", () => {
  test("long_context: 20,000 documents nested in each other are estimated, not a 500", async () => {
    const p1 = await startUpstreamStub();
    const ccmux = await startCcmux(
      providers("anthropic", p1.url).replace(
        "[router]\n",
        '[router]\nlong_context = "fast"\nlong_context_threshold = 1\n',
      ),
    );
    try {
      const n = 20_000;
      const open = '{"type":"document","source":{"type":"content","content":[';
      const text = JSON.stringify({ type: "text", text: "counted ".repeat(20) });
      const deep = open.repeat(n) + '{"type":"text","text":"hi"}' + "]}}".repeat(n);
      const body =
        `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[${text},${deep}]}]}`;
      const res = await postRaw(ccmux.url, body);
      assert.equal(res.status, 200, await res.clone().text());
      await res.arrayBuffer();
      assert.equal(p1.requests.length, 1);
      assert.match(await ccmux.waitForLog(/POST \/v1\/messages 200/), /rule=long_context/);
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });
});

describe("the OpenAI path refuses what translation cannot read", () => {
  const good = { model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };
  const cases: [string, Obj, RegExp][] = [
    ["messages a string", { messages: "hi" }, /^ccmux: messages: /],
    ["messages missing", { messages: undefined }, /^ccmux: messages: /],
    ["a message not an object", { messages: ["hi"] }, /messages\.0: /],
    ["a bad role", { messages: [{ role: "robot", content: "x" }] }, /messages\.0\.role: /],
    ["content a number", { messages: [{ role: "user", content: 5 }] }, /messages\.0\.content: /],
    [
      "a block without a type",
      { messages: [{ role: "user", content: [{ text: "x" }] }] },
      /messages\.0\.content\.0\.type: /,
    ],
    [
      "a text block without text",
      { messages: [{ role: "user", content: [{ type: "text", text: 1 }] }] },
      /messages\.0\.content\.0\.text: /,
    ],
    ["max_tokens a string", { max_tokens: "lots" }, /max_tokens: /],
    ["max_tokens a fraction", { max_tokens: 1.5 }, /max_tokens: /],
    ["system a number", { system: 5 }, /system: /],
    ["a system block without text", { system: [{ type: "text" }] }, /system\.0\.text: /],
    ["stream a string", { stream: "yes" }, /stream: /],
    ["temperature a string", { temperature: "hot" }, /temperature: /],
    ["top_p a string", { top_p: "x" }, /top_p: /],
    ["stop_sequences a string", { stop_sequences: "END" }, /stop_sequences: /],
    ["tools an object", { tools: { name: "x" } }, /tools: /],
    ["a tool without a name", { tools: [{ input_schema: {} }] }, /tools\.0\.name: /],
    ["tool_choice a string", { tool_choice: "auto" }, /tool_choice: /],
    ["thinking a string", { thinking: "on" }, /thinking: /],
    [
      "thinking.budget_tokens a string",
      { thinking: { type: "enabled", budget_tokens: "x" } },
      /thinking\.budget_tokens: /,
    ],
    ["output_config.effort a number", { output_config: { effort: 3 } }, /output_config\.effort: /],
  ];

  test("each bad member is a 400 naming it; nothing goes upstream, no cool-down", async () => {
    const stub = await startOpenAIStub();
    const ccmux = await startCcmux(providers("openai", stub.baseUrl));
    try {
      for (const [name, change, field] of cases) {
        const body = { ...good, ...change };
        const res = await postRaw(ccmux.url, JSON.stringify(body));
        await assertInvalid(res, field).catch((e) => {
          throw new Error(`${name}: ${e.message}`);
        });
      }
      assert.equal(stub.requests.length, 0);
      const res = await postRaw(ccmux.url, JSON.stringify(good));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(stub.requests.length, 1);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("count_tokens validates the same members", async () => {
    const stub = await startOpenAIStub();
    const ccmux = await startCcmux(providers("openai", stub.baseUrl));
    try {
      const res = await fetch(ccmux.url + "/v1/messages/count_tokens", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: "hi" }),
      });
      await assertInvalid(res, /messages: /);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});
