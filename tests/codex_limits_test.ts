// The Codex usage-limit reading (429 body and x-codex-* headers), the skip-until policy, and
// where the ChatGPT account id comes from.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { codexUsageLimit } from "../src/proxy/codex_limits.ts";
import { describeReset, SkipUntil } from "../src/proxy/quota.ts";
import { accountIdOfJwt, chatgptAccountId } from "../src/proxy/chatgpt_account.ts";
import { usageLimitReply } from "./helpers/codex_stub.ts";

const NOW = 1_777_922_696_000;

describe("codexUsageLimit", () => {
  test("the 429 body's resets_at, with the used-up window from the headers", () => {
    const reply = usageLimitReply(1777936568, NOW / 1000);
    const e = codexUsageLimit(429, new Headers(reply.headers), reply.json, NOW);
    assert.deepEqual(e, { until: 1777936568_000, window: "primary (300 min) window" });
  });

  test("resets_in_seconds when resets_at is missing; headers alone when the body says nothing", () => {
    const body = { error: { type: "usage_limit_reached", resets_in_seconds: 60 } };
    assert.deepEqual(codexUsageLimit(429, new Headers(), body, NOW), { until: NOW + 60_000 });
    const headers = new Headers({
      "x-codex-secondary-used-percent": "100",
      "x-codex-secondary-window-minutes": "10080",
      "x-codex-secondary-reset-after-seconds": "600",
    });
    assert.deepEqual(codexUsageLimit(429, headers, {}, NOW), {
      until: NOW + 600_000,
      window: "secondary (10080 min) window",
    });
  });

  test("a plain rate limit, another status, or a window below 100 % is no exhaustion", () => {
    const rate = { error: { type: "rate_limit_exceeded", message: "try again in 2s" } };
    assert.equal(codexUsageLimit(429, new Headers(), rate, NOW), undefined);
    const reply = usageLimitReply(1777936568, NOW / 1000);
    assert.equal(codexUsageLimit(400, new Headers(reply.headers), reply.json, NOW), undefined);
    const h = new Headers({
      "x-codex-primary-used-percent": "80",
      "x-codex-primary-reset-at": "1777936568",
    });
    assert.equal(codexUsageLimit(429, h, {}, NOW), undefined);
  });
});

describe("SkipUntil", () => {
  test("blocks a provider until its reset, then lets it through", () => {
    const q = new SkipUntil();
    q.exhausted("chatgpt", { until: NOW + 1000 });
    assert.equal(q.blockedUntil("chatgpt", NOW), NOW + 1000);
    assert.equal(q.blockedUntil("other", NOW), undefined);
    assert.equal(q.blockedUntil("chatgpt", NOW + 1000), undefined);
  });

  test("describeReset names the UTC time and the time left", () => {
    assert.equal(
      describeReset(NOW + 3 * 3600_000 + 51 * 60_000, NOW),
      "2026-05-04T23:15:56Z (in 3 h 51 min)",
    );
  });
});

describe("chatgptAccountId", () => {
  const jwt = (claims: unknown) =>
    `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;
  const claim = (id: string) => ({ "https://api.openai.com/auth": { chatgpt_account_id: id } });

  test("the stored account_id first, then the id_token's claim, then the access token's", () => {
    const base = { provider_id: "chatgpt", access_token: jwt(claim("from-access")) };
    assert.equal(
      chatgptAccountId({ ...base, account_id: "stored", id_token: jwt(claim("from-id")) }),
      "stored",
    );
    assert.equal(chatgptAccountId({ ...base, id_token: jwt(claim("from-id")) }), "from-id");
    assert.equal(chatgptAccountId(base), "from-access");
  });

  test("no claim, or not a JWT: undefined", () => {
    assert.equal(accountIdOfJwt(jwt({ sub: "x" })), undefined);
    assert.equal(accountIdOfJwt("opaque"), undefined);
    assert.equal(accountIdOfJwt("a.!!!.c"), undefined);
    assert.equal(chatgptAccountId({ provider_id: "c", access_token: "opaque" }), undefined);
  });
});
