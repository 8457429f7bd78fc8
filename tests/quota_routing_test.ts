// Quota-aware routing end to end: a stub Anthropic upstream sends the unified rate-limit headers
// (allowed / allowed_warning / rejected, Unix-seconds and RFC 3339 resets, or none); ccmux
// records the windows, fails over at once from a rejected account, skips it until its reset
// (short resets of 1–2 s here), then tries it again; with nothing left the client gets 429.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  messageJson,
  rateLimitError,
  startUpstreamStub,
  unifiedHeaders,
} from "./helpers/upstream_stub.ts";
import { startCcmux } from "./helpers/ccmux_server.ts";

/** Providers q1..qN at `urls`, model "m" mapped to them in order. */
function quotaConfig(urls: string[], router = ""): string {
  let toml = router ? `[router]\n${router}\n` : "";
  urls.forEach((url, i) => {
    toml += `[[providers]]\nname = "q${i + 1}"\nprovider_type = "anthropic"\n` +
      `auth_type = "apikey"\napi_key = "key-q${i + 1}"\nbase_url = "${url}"\n`;
  });
  toml += `[[models]]\nname = "m"\n`;
  urls.forEach((_, i) => {
    toml += `[[models.mappings]]\nprovider = "q${i + 1}"\nactual_model = "model-${i + 1}"\n` +
      `priority = ${i + 1}\n`;
  });
  return toml;
}

function post(url: string, body: Record<string, unknown> = {}) {
  return fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "m", max_tokens: 10, messages: [], ...body }),
  });
}

const sec = (ms: number) => Math.ceil(ms / 1000) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("quota windows from the unified headers", () => {
  test("allowed_warning (Unix seconds), allowed (RFC 3339), and an answer without them", async () => {
    const reset5h = Date.now() + 3600_000;
    const reset7d = Date.now() + 4 * 86400_000;
    const up = await startUpstreamStub();
    const ccmux = await startCcmux(quotaConfig([up.url]));
    try {
      up.reply({
        json: messageJson(),
        headers: unifiedHeaders({
          status: "allowed_warning",
          claim: "five_hour",
          reset: reset5h,
          h5: { status: "allowed_warning", utilization: 0.88, reset: reset5h },
          d7: { status: "allowed", utilization: 0.41, reset: reset7d },
        }),
      });
      const r1 = await post(ccmux.url);
      assert.equal(r1.status, 200);
      assert.equal(r1.headers.get("anthropic-ratelimit-unified-status"), "allowed_warning");
      await r1.text();
      let q = ccmux.app.quota.get("q1")!;
      assert.equal(q.family, "anthropic");
      assert.equal(q.status, "allowed_warning");
      assert.equal(q.claim, "five_hour");
      assert.deepEqual(q.windows, [
        { name: "5h", status: "allowed_warning", utilization: 0.88, resets_at: sec(reset5h) },
        { name: "7d", status: "allowed", utilization: 0.41, resets_at: sec(reset7d) },
      ]);

      up.reply({
        json: messageJson(),
        headers: unifiedHeaders({
          status: "allowed",
          rfc3339: true,
          h5: { utilization: 0.05, reset: reset5h },
        }),
      });
      await (await post(ccmux.url)).text();
      q = ccmux.app.quota.get("q1")!;
      assert.equal(q.status, "allowed");
      assert.deepEqual(q.windows, [{ name: "5h", utilization: 0.05, resets_at: reset5h }]);

      // No unified headers (an API key): what was known stays.
      up.reply({ json: messageJson() });
      await (await post(ccmux.url)).text();
      assert.equal(ccmux.app.quota.get("q1")!.status, "allowed");
    } finally {
      await ccmux.close();
      await up.close();
    }
  });
});

describe("an exhausted subscription", () => {
  test("rejected → the next mapping at once; skipped until the reset; then tried again", async () => {
    const reset = Date.now() + 1500;
    const rejected = {
      status: 429,
      json: rateLimitError(),
      // retry-after would be waited for before the last candidate: a used-up account is not.
      headers: unifiedHeaders({
        status: "rejected",
        claim: "five_hour",
        reset,
        h5: { status: "rejected", utilization: 1.0, reset },
        d7: { status: "allowed", utilization: 0.3, reset: Date.now() + 86400_000 },
        retryAfter: 1,
      }),
    };
    const q1 = await startUpstreamStub(rejected);
    const q2 = await startUpstreamStub();
    const ccmux = await startCcmux(quotaConfig([q1.url, q2.url]));
    try {
      const t0 = performance.now();
      const r1 = await post(ccmux.url);
      assert.equal(r1.status, 200);
      await r1.text();
      assert.ok(performance.now() - t0 < 900, "no wait for retry-after");
      assert.equal(q1.requests.length, 1);
      assert.equal(q2.requests.length, 1);
      const line = await ccmux.waitForLog(/q1 429 usage limit/);
      assert.match(line, /q1 429 usage limit \(5h window\) until 20\d\d-\d\d-\d\dT[\d:]+Z \(in /);
      assert.equal(ccmux.app.quota.get("q1")!.exhausted?.window, "5h window");

      const r2 = await post(ccmux.url, { stream: true });
      assert.equal(r2.status, 200);
      await r2.text();
      assert.equal(q1.requests.length, 1, "skipped while exhausted");
      assert.equal(q2.requests.length, 2);
      await ccmux.waitForLog(/q1 skipped \(usage limit \(5h window\) until /);

      // After the reset it is tried again (and answers now).
      q1.reply({ json: messageJson("back"), headers: unifiedHeaders({ status: "allowed" }) });
      await sleep(Math.max(0, sec(reset) - Date.now()) + 100);
      const r3 = await post(ccmux.url);
      assert.equal(r3.status, 200);
      assert.match(await r3.text(), /back/);
      assert.equal(q1.requests.length, 2);
      assert.equal(q2.requests.length, 2);
    } finally {
      await ccmux.close();
      await q1.close();
      await q2.close();
    }
  });

  test("nothing left: 429, retry-after to the reset, a rate_limit_error naming it", async () => {
    const reset = Date.now() + 3 * 3600_000;
    const up = await startUpstreamStub({
      status: 429,
      json: rateLimitError(),
      headers: unifiedHeaders({
        status: "rejected",
        rfc3339: true,
        h5: { status: "allowed", utilization: 0.7, reset: Date.now() + 3600_000 },
        d7: { status: "rejected", utilization: 1.01, reset },
      }),
    });
    const ccmux = await startCcmux(quotaConfig([up.url]));
    try {
      for (let i = 0; i < 2; i++) {
        const res = await post(ccmux.url);
        assert.equal(res.status, 429);
        const after = Number(res.headers.get("retry-after"));
        assert.ok(Math.abs(after - (reset - Date.now()) / 1000) < 5, `retry-after ${after}`);
        const body = await res.json();
        assert.equal(body.type, "error");
        assert.equal(body.error.type, "rate_limit_error");
        assert.match(body.error.message, /usage limit/);
        assert.match(
          body.error.message,
          /resets at 20\d\d-\d\d-\d\dT[\d:]+Z \(in 2 h 59 min|3 h 0 min/,
        );
      }
      assert.equal(up.requests.length, 1, "the second request did not reach the upstream");
      await ccmux.waitForLog(
        /429 .*usage limit is reached: q1 skipped \(usage limit \(7d window\) until /,
      );
    } finally {
      await ccmux.close();
      await up.close();
    }
  });

  test("quota_soft_limit: a provider near its limit is tried after the others", async () => {
    const reset = Date.now() + 3600_000;
    const hot = {
      json: messageJson(),
      headers: unifiedHeaders({ h5: { utilization: 0.97, reset } }),
    };
    const q1 = await startUpstreamStub(hot);
    const q2 = await startUpstreamStub();
    const ccmux = await startCcmux(quotaConfig([q1.url, q2.url], "quota_soft_limit = 0.95"));
    try {
      await (await post(ccmux.url)).text();
      assert.equal(q1.requests.length, 1);
      await (await post(ccmux.url)).text();
      assert.equal(q1.requests.length, 1, "deferred behind q2");
      assert.equal(q2.requests.length, 1);
      await ccmux.waitForLog(/q1 deferred \(5h window at 97 %/);
    } finally {
      await ccmux.close();
      await q1.close();
      await q2.close();
    }
  });
});
