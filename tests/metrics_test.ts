// GET /metrics: Prometheus text that a small parser of the exposition format accepts (HELP /
// TYPE lines, samples with labels, histogram buckets), counters that move as requests are made,
// quota utilization gauges, the optional bearer token, and serve's Host / Origin rules.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { messageJson, startUpstreamStub, unifiedHeaders } from "./helpers/upstream_stub.ts";
import { startCcmux } from "./helpers/ccmux_server.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (version 0.0.4) strictly enough for a test:
 * every line is a comment (# HELP / # TYPE with a known type), blank, or a sample
 * `name{label="value",...} number`; each sample's family has a TYPE line before it.
 */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      assert.ok(m, `bad comment line: ${line}`);
      assert.match(m[2], NAME);
      if (m[1] === "TYPE") {
        assert.ok(["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3]), line);
        types.set(m[2], m[3]);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    assert.ok(m, `bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let consumed = 0;
      for (const l of m[2].matchAll(re)) {
        labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        consumed += l[0].length;
      }
      assert.equal(consumed, m[2].length, `bad labels: ${line}`);
    }
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value) || m[3] === "NaN", `bad value: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(types.has(m[1]) || types.has(family), `no TYPE before ${m[1]}`);
    samples.push({ name: m[1], labels, value });
  }
  return { types, samples };
}

function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) =>
    s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)
  ).reduce((a, s) => a + s.value, 0);
}

function config(url: string, metrics: string): string {
  return `${metrics}
[[providers]]
name = "p1"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "key-secret-p1"
base_url = "${url}"
[[models]]
name = "m"
[[models.mappings]]
provider = "p1"
actual_model = "model-1"
priority = 1
`;
}

function post(url: string, stream = false) {
  return fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "m", max_tokens: 10, messages: [], stream }),
  });
}

describe("GET /metrics", () => {
  test("parses as Prometheus text; counters move with requests; quota gauges", async () => {
    const reset = Date.now() + 3600_000;
    const up = await startUpstreamStub((req) => ({
      headers: unifiedHeaders({ status: "allowed", h5: { utilization: 0.42, reset } }),
      ...(req.json?.stream === true ? {} : {
        json: {
          ...messageJson(),
          usage: { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 3 },
        },
      }),
    }));
    const ccmux = await startCcmux(config(up.url, "[metrics]\nenabled = true"));
    try {
      const before = parsePrometheus(await (await fetch(`${ccmux.url}/metrics`)).text());
      assert.equal(before.types.get("ccmux_requests_total"), "counter");
      assert.equal(before.types.get("ccmux_upstream_latency_seconds"), "histogram");
      assert.equal(sum(before.samples, "ccmux_requests_total", { path: "/v1/messages" }), 0);

      await (await post(ccmux.url)).text();
      await (await post(ccmux.url)).text();
      const res = await fetch(`${ccmux.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.ok(!text.includes("key-secret-p1"));
      const after = parsePrometheus(text);
      const s = after.samples;
      assert.equal(
        sum(s, "ccmux_requests_total", { path: "/v1/messages", provider: "p1", status: "200" }),
        2,
      );
      assert.equal(sum(s, "ccmux_tokens_total", { provider: "p1", type: "input" }), 24);
      assert.equal(sum(s, "ccmux_tokens_total", { provider: "p1", type: "output" }), 10);
      assert.equal(sum(s, "ccmux_tokens_total", { type: "cache_read" }), 6);
      assert.equal(sum(s, "ccmux_upstream_latency_seconds_count", { provider: "p1" }), 2);
      assert.equal(
        sum(s, "ccmux_upstream_latency_seconds_bucket", { provider: "p1", le: "+Inf" }),
        2,
      );
      assert.equal(sum(s, "ccmux_quota_utilization", { provider: "p1", window: "5h" }), 0.42);
      assert.equal(sum(s, "ccmux_quota_exhausted", { provider: "p1" }), 0);

      // serve's rules: a web page's Origin is refused, as is a foreign Host.
      const origin = await fetch(`${ccmux.url}/metrics`, {
        headers: { origin: "http://evil.example" },
      });
      assert.equal(origin.status, 403);
      await origin.body?.cancel();
    } finally {
      await ccmux.close();
      await up.close();
    }
  });

  test("[metrics] token: a bearer token is required; off: 404", async () => {
    const up = await startUpstreamStub();
    const withToken = await startCcmux(
      config(up.url, '[metrics]\nenabled = true\ntoken = "scrape-me"'),
    );
    const off = await startCcmux(config(up.url, ""));
    try {
      const none = await fetch(`${withToken.url}/metrics`);
      assert.equal(none.status, 401);
      assert.equal((await none.json()).error.type, "authentication_error");
      const wrong = await fetch(`${withToken.url}/metrics`, {
        headers: { authorization: "Bearer nope" },
      });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
      const ok = await fetch(`${withToken.url}/metrics`, {
        headers: { authorization: "Bearer scrape-me" },
      });
      assert.equal(ok.status, 200);
      parsePrometheus(await ok.text());
      const gone = await fetch(`${off.url}/metrics`);
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    } finally {
      await withToken.close();
      await off.close();
      await up.close();
    }
  });
});
