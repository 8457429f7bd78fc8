import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LiteHeaders } from "../src/runtime/lite_headers.ts";
import { forwardHeaders } from "../src/proxy/headers.ts";

describe("LiteHeaders", () => {
  test("reads, joins and converts like Headers", () => {
    const lite = new LiteHeaders();
    const web = new Headers();
    for (const h of [lite, web]) {
      h.append("Content-Type", "text/event-stream");
      h.append("X-Dup", "a");
      h.append("x-dup", "b");
      h.append("Set-Cookie", "a=1");
      h.append("set-cookie", "b=2");
      h.set("Request-Id", "req_1");
    }
    for (const name of ["content-type", "X-DUP", "set-cookie", "request-id", "missing"]) {
      assert.equal(lite.get(name), web.get(name), name);
      assert.equal(lite.has(name), web.has(name), name);
    }
    assert.deepEqual(lite.getSetCookie(), web.getSetCookie());
    const seen: [string, string][] = [];
    lite.forEach((v, k) => seen.push([k, v]));
    assert.deepEqual(seen.sort(), [...web].sort());
    assert.deepEqual([...new Headers(lite as unknown as Headers)].sort(), [...web].sort());
    lite.delete("X-Dup");
    assert.equal(lite.get("x-dup"), null);
    assert.deepEqual([...lite.keys()], ["content-type", "request-id", "set-cookie", "set-cookie"]);
  });

  test("a Response takes it as its headers", async () => {
    const lite = new LiteHeaders();
    lite.append("content-type", "application/json");
    const res = new Response("{}", { headers: lite as unknown as Headers });
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await res.text(), "{}");
  });
});

describe("forwardHeaders from raw pairs", () => {
  test("gives what iterating a Headers gives", () => {
    const raw = [
      "Host",
      "127.0.0.1:1",
      "Content-Type",
      "application/json",
      "X-Api-Key",
      "secret",
      "Anthropic-Beta",
      "a",
      "anthropic-beta",
      "b",
      "Proxy-Authorization",
      "x",
      "Accept-Encoding",
      "gzip",
      "User-Agent",
      "claude-cli/1",
    ];
    const headers = new Headers();
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    const fromRaw = forwardHeaders(headers, undefined, raw);
    assert.deepEqual(fromRaw, forwardHeaders(headers));
    // No prototype, so names such as `constructor` are plain entries.
    assert.equal(Object.getPrototypeOf(fromRaw), null);
    assert.deepEqual({ ...fromRaw }, {
      "anthropic-beta": "a, b",
      "content-type": "application/json",
      "user-agent": "claude-cli/1",
    });
  });
});
