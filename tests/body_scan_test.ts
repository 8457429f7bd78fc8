// body_scan.ts: the structural byte scan the pass-through routes on instead of JSON.parse,
// fuzzed against JSON.parse, and the app paths that use it (model splice, 400s, fallbacks).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { parseRange, rangeIncludes, scanBody, spliceRange } from "../src/proxy/body_scan.ts";
import { startUpstreamStub } from "./helpers/upstream_stub.ts";
import { startCcmux } from "./helpers/ccmux_server.ts";
import { chatJson, startOpenAIStub } from "./helpers/openai_stub.ts";

const enc = (s: string) => new Uint8Array(Buffer.from(s));

/** A seeded PRNG (mulberry32): the fuzz cases are the same on every run. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "a",
  "model",
  '"',
  "\\",
  "\\\\",
  '\\"',
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  " ",
  "\n",
  "é",
  "✓",
  "😀",
  "\u0000",
  "\u001f",
  "<CCM-SUBAGENT-MODEL>",
  "web_search",
];

function randomString(r: () => number): string {
  let s = "";
  const n = Math.floor(r() * 8);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 5 : 7));
  switch (k) {
    case 0:
      return randomString(r);
    case 1:
      return Math.floor(r() * 2000) - 1000 + (r() < 0.3 ? 0.5 : 0);
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return r() < 0.5 ? 1e21 : -0.000123;
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[randomString(r)] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** JSON text with random whitespace between tokens (JSON.stringify's, re-spaced). */
function spaced(v: unknown, r: () => number): string {
  const ws = () => [" ", "\n", "\t", "\r\n", "", ""][Math.floor(r() * 6)];
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => ws() + spaced(x, r) + ws()).join(",")}]`;
  if (v && typeof v === "object") {
    const parts = Object.entries(v).map(([k, x]) =>
      `${ws()}${JSON.stringify(k)}${ws()}:${ws()}${spaced(x, r)}${ws()}`
    );
    return `{${ws()}${parts.join(",")}${ws()}}`;
  }
  return JSON.stringify(v);
}

/** The scan agrees with JSON.parse: same keys, and each range parses to the same value. */
function assertAgrees(text: string): void {
  const bytes = enc(text);
  const want = JSON.parse(text) as Record<string, unknown>;
  const got = scanBody(bytes);
  assert.ok(got, `scan rejected valid JSON: ${text}`);
  assert.deepEqual([...got.members.keys()].sort(), Object.keys(want).sort(), text);
  for (const [k, range] of got.members) assert.deepEqual(parseRange(bytes, range), want[k], text);
}

describe("scanBody against JSON.parse", () => {
  test("random valid objects: the same members and values", () => {
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 6);
      for (let j = 0; j < n; j++) o[r() < 0.3 ? "model" + j : randomString(r)] = randomValue(r, 0);
      assertAgrees(r() < 0.5 ? JSON.stringify(o) : spaced(o, r));
      if (i % 10 === 0) assertAgrees(JSON.stringify(o, null, 2));
    }
  });

  test("edge cases: escapes, backslash runs, unicode, empty, whitespace", () => {
    for (
      const text of [
        "{}",
        " \n\t{ } \r\n",
        '{"a":"\\\\"}',
        '{"a":"\\\\\\"","b":1}',
        '{"a":"x\\\\\\\\","b":"}"}',
        '{"mo\\u0064el":"x","m\\"":1}',
        '{"a":"\\u00e9 é ✓ 😀 \\ud83d\\ude00"}',
        '{"a":[[],{},[{}],{"b":[1,{"c":"]}["}]}],"d":-1.5e+3}',
        '{"a":true,"b":false,"c":null,"d":0}',
        '{"":""}',
        '{"a" : "b" , "c" : [ 1 , 2 ] }',
        '{"text":"{\\"model\\":\\"fake\\"}","model":"real"}',
      ]
    ) assertAgrees(text);
  });

  test("duplicate keys are flagged, and the last range wins (as in JSON.parse)", () => {
    const text = '{"model":"a","x":1,"model":"b"}';
    const got = scanBody(enc(text))!;
    assert.equal(got.duplicateKeys, true);
    assert.equal(parseRange(enc(text), got.members.get("model")!), "b");
    assert.equal(scanBody(enc('{"a":1,"b":2}'))!.duplicateKeys, false);
  });

  test("every truncation of a valid object is rejected", () => {
    const r = rng(7);
    for (let i = 0; i < 200; i++) {
      const o = { model: randomString(r), a: randomValue(r, 0), b: randomValue(r, 0) };
      const text = r() < 0.5 ? JSON.stringify(o) : spaced(o, r);
      const bytes = enc(text);
      for (let cut = 0; cut < bytes.byteLength; cut++) {
        const part = bytes.subarray(0, cut);
        // Only cuts JSON.parse also refuses (a cut inside trailing whitespace is still valid).
        let valid = true;
        try {
          JSON.parse(Buffer.from(part).toString("utf8"));
        } catch {
          valid = false;
        }
        if (!valid) assert.equal(scanBody(part), undefined, Buffer.from(part).toString());
      }
    }
  });

  test("structural errors are rejected", () => {
    for (
      const text of [
        "",
        "   ",
        "[]",
        '"model"',
        "42",
        "null",
        '{"a":1,}',
        '{,"a":1}',
        '{"a" 1}',
        '{"a":}',
        '{"a":1 "b":2}',
        '{"a":[}',
        '{"a":{]}',
        '{"a":[1,2]]}',
        '{"a":"x}',
        '{"a":"x\\"}',
        '{"a":1}x',
        '{"a":1}}',
        '{"a":1}{"b":2}',
        "{a:1}",
        '\ufeff{"a":1}',
      ]
    ) assert.equal(scanBody(enc(text)), undefined, JSON.stringify(text));
  });

  test("random byte mutations: whatever the scan accepts has balanced structure", () => {
    const r = rng(99);
    for (let i = 0; i < 3000; i++) {
      const o = { model: randomString(r), x: randomValue(r, 0), y: randomValue(r, 0) };
      const bytes = Buffer.from(JSON.stringify(o));
      const k = Math.floor(r() * bytes.length);
      const mutated = Buffer.concat([
        bytes.subarray(0, k),
        Buffer.from(["{", "}", "[", "]", '"', "\\", ",", ":", "", "x"][Math.floor(r() * 10)]),
        bytes.subarray(k + (r() < 0.5 ? 1 : 0)),
      ]);
      const got = scanBody(mutated);
      let parsed: Record<string, unknown> | undefined;
      try {
        const v = JSON.parse(mutated.toString("utf8"));
        if (v && typeof v === "object" && !Array.isArray(v)) parsed = v;
      } catch { /* invalid */ }
      if (parsed) {
        // Valid objects are never refused, and agree.
        assert.ok(got, mutated.toString());
        assert.deepEqual([...got.members.keys()].sort(), Object.keys(parsed).sort());
      } else if (got) {
        // Accepted but invalid: only what the scan leaves to JSON.parse / the upstream
        // (inside a member); each member range still starts and ends on a value boundary.
        for (const range of got.members.values()) {
          assert.ok(range.end > range.start);
          const first = mutated[range.start];
          const last = mutated[range.end - 1];
          if (first === 0x7b) assert.equal(last, 0x7d);
          if (first === 0x5b) assert.equal(last, 0x5d);
          if (first === 0x22) assert.equal(last, 0x22);
        }
      }
    }
  });
});

describe("range helpers", () => {
  test("spliceRange replaces exactly the range; rangeIncludes stays inside it", () => {
    const bytes = enc('{"model":"old","system":"é <CCM-SUBAGENT-MODEL>","z":"web_search"}');
    const s = scanBody(bytes)!;
    const out = spliceRange(bytes, s.members.get("model")!, enc('"new-model"'));
    assert.equal(
      Buffer.from(out).toString(),
      '{"model":"new-model","system":"é <CCM-SUBAGENT-MODEL>","z":"web_search"}',
    );
    assert.equal(rangeIncludes(bytes, s.members.get("system")!, enc("CCM-SUBAGENT-MODEL")), true);
    assert.equal(rangeIncludes(bytes, s.members.get("system")!, enc("web_search")), false);
    assert.equal(rangeIncludes(bytes, s.members.get("z")!, enc("web_search")), true);
  });
});

const PROVIDER = (url: string) => `
[router]
default = "big"
[[providers]]
name = "up"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "sk-ant-provider"
base_url = "${url}"
[[models]]
name = "big"
[[models.mappings]]
provider = "up"
actual_model = "upstream-model-x"
priority = 1
`;

async function post(url: string, body: string) {
  const res = await fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "sk-ant-client" },
    body,
  });
  return { status: res.status, json: await res.json() };
}

describe("the pass-through on scanned bodies", () => {
  test("only the top-level model's bytes change; nested look-alikes and unicode stay", async () => {
    const stub = await startUpstreamStub({ json: { ok: true } });
    const ccmux = await startCcmux(PROVIDER(stub.url));
    try {
      const text =
        '{ "messages" : [{"role":"user","content":"{\\"model\\":\\"claude-x\\"} é ✓"}],' +
        '\n  "model" :\t"claude-sonnet-4-5" , "max_tokens": 5 }';
      const res = await post(ccmux.url, text);
      assert.equal(res.status, 200);
      assert.equal(
        Buffer.from(stub.requests[0].body).toString(),
        text.replace('"claude-sonnet-4-5"', '"upstream-model-x"'),
      );
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("malformed bodies are 400s as before; a member the scan passes but JSON rejects too", async () => {
    const stub = await startUpstreamStub({ json: { ok: true } });
    const ccmux = await startCcmux(PROVIDER(stub.url));
    try {
      for (
        const bad of ['{"model":"claude-x",', "[1]", '{"model":"claude-x","thinking":{"a" 1}}']
      ) {
        const res = await post(ccmux.url, bad);
        assert.equal(res.status, 400, bad);
        assert.equal(res.json.type, "error");
      }
      assert.equal(stub.requests.length, 0);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("duplicate model keys fall back to the full parse; escaped keys are decoded", async () => {
    const stub = await startUpstreamStub({ json: { ok: true } });
    const ccmux = await startCcmux(PROVIDER(stub.url));
    try {
      assert.equal((await post(ccmux.url, '{"model":"a","model":"claude-x","n":1}')).status, 200);
      assert.deepEqual(stub.requests[0].json, { model: "upstream-model-x", n: 1 });
      assert.equal((await post(ccmux.url, '{"mod\\u0065l":"claude-x","n":2}')).status, 200);
      assert.equal(stub.requests[1].json?.model, "upstream-model-x");
      assert.equal(stub.requests[1].json?.n, 2);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("an OpenAI candidate gets the whole parsed body (and invalid JSON stays a 400)", async () => {
    const stub = await startOpenAIStub({ json: chatJson({ text: "hello" }) });
    const ccmux = await startCcmux(`
[router]
default = "oa"
[[providers]]
name = "oai"
provider_type = "openai"
auth_type = "apikey"
api_key = "sk-openai"
base_url = "${stub.baseUrl}"
[[models]]
name = "oa"
[[models.mappings]]
provider = "oai"
actual_model = "gpt-x"
priority = 1
`);
    try {
      const res = await post(
        ccmux.url,
        '{"model":"claude-x","max_tokens":9,"messages":[{"role":"user","content":"hi é"}]}',
      );
      assert.equal(res.status, 200);
      const seen = stub.requests[0].json;
      assert.equal(seen.model, "gpt-x");
      assert.deepEqual(seen.messages, [{ role: "user", content: "hi é" }]);
      const bad = await post(ccmux.url, '{"model":"claude-x","messages":[1 2]}');
      assert.equal(bad.status, 400);
      assert.equal(stub.requests.length, 1);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});
