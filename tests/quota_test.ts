// The quota module's pieces without a network: reading Anthropic's unified headers (both reset
// formats, every header optional) and Codex's x-codex-* headers, the usage endpoints' answers,
// the quota book's skip-until-reset (bounded) and soft limit, and the policy chain's order.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  anthropicExhausted,
  anthropicUsageWindows,
  codexUsageWindows,
  parseReset,
  readSignals,
} from "../src/quota/signals.ts";
import { MAX_SKIP_MS, QuotaBook } from "../src/quota/book.ts";
import { Cooldown, PolicyChain } from "../src/quota/policy.ts";
import { dayOf, UsageBook, usageSince } from "../src/quota/usage.ts";
import { unifiedHeaders } from "./helpers/upstream_stub.ts";

const NOW = Date.UTC(2026, 4, 4, 12, 0, 0);
const H = (h: Record<string, string>) => new Headers(h);

describe("readSignals", () => {
  test("Anthropic: status, claim, 5h / 7d utilization and resets (Unix seconds)", () => {
    const s = readSignals(H(unifiedHeaders({
      status: "allowed_warning",
      claim: "five_hour",
      reset: NOW + 3600_000,
      h5: { status: "allowed_warning", utilization: 0.91, reset: NOW + 3600_000 },
      d7: { status: "allowed", utilization: 0.4, reset: NOW + 5 * 86400_000 },
    })));
    assert.deepEqual(s, {
      family: "anthropic",
      status: "allowed_warning",
      claim: "five_hour",
      resets_at: NOW + 3600_000,
      windows: [
        { name: "5h", status: "allowed_warning", utilization: 0.91, resets_at: NOW + 3600_000 },
        { name: "7d", status: "allowed", utilization: 0.4, resets_at: NOW + 5 * 86400_000 },
      ],
    });
  });

  test("Anthropic: RFC 3339 resets read the same; missing headers are left out", () => {
    const s = readSignals(H(unifiedHeaders({
      rfc3339: true,
      reset: NOW + 60_000,
      h5: { utilization: 0.5 },
    })));
    assert.deepEqual(s, {
      family: "anthropic",
      resets_at: NOW + 60_000,
      windows: [{ name: "5h", utilization: 0.5 }],
    });
    assert.equal(parseReset("2026-04-29T17:00:00Z"), Date.UTC(2026, 3, 29, 17));
    assert.equal(parseReset("1774472400"), 1774472400_000);
    assert.equal(parseReset("soon"), undefined);
  });

  test("no signal headers at all: undefined", () => {
    assert.equal(readSignals(H({ "content-type": "application/json" })), undefined);
  });

  test("Codex: primary and secondary windows from x-codex-* headers", () => {
    const s = readSignals(H({
      "x-codex-primary-used-percent": "80",
      "x-codex-primary-window-minutes": "300",
      "x-codex-primary-reset-at": "1777936568",
      "x-codex-secondary-used-percent": "12",
      "x-codex-secondary-window-minutes": "10080",
      "x-codex-secondary-reset-at": "1778239400",
    }));
    assert.deepEqual(s, {
      family: "codex",
      windows: [
        { name: "primary", utilization: 0.8, resets_at: 1777936568_000, minutes: 300 },
        { name: "secondary", utilization: 0.12, resets_at: 1778239400_000, minutes: 10080 },
      ],
    });
  });

  test("exhaustion: a rejected window (the latest reset), not a model-scoped one alone", () => {
    const rejected = readSignals(H(unifiedHeaders({
      status: "rejected",
      reset: NOW + 1000,
      h5: { status: "rejected", utilization: 1.02, reset: NOW + 1000 },
      d7: { status: "allowed", utilization: 0.3, reset: NOW + 86400_000 },
    })))!;
    assert.deepEqual(anthropicExhausted(rejected), { until: NOW + 1000, window: "5h window" });
    const allowed = readSignals(
      H(unifiedHeaders({ status: "allowed", h5: { utilization: 0.2 } })),
    )!;
    assert.equal(anthropicExhausted(allowed), undefined);
    const scoped = readSignals(H({
      "anthropic-ratelimit-unified-status": "rejected",
      "anthropic-ratelimit-unified-7d_oi-status": "rejected",
      "anthropic-ratelimit-unified-5h-status": "allowed",
    }))!;
    assert.equal(anthropicExhausted(scoped), undefined);
    // Only the overall status: the claim names the window.
    const bare = readSignals(H(unifiedHeaders({
      status: "rejected",
      claim: "seven_day",
      reset: NOW + 5000,
    })))!;
    assert.deepEqual(anthropicExhausted(bare), { until: NOW + 5000, window: "7d window" });
  });

  test("usage endpoints: Anthropic's 0–100 utilization, Codex's wham/usage", () => {
    assert.deepEqual(
      anthropicUsageWindows({
        five_hour: { utilization: 45.2, resets_at: "2026-03-22T18:00:00Z" },
        seven_day: { utilization: 12.8, resets_at: null },
        seven_day_oauth_apps: null,
      }),
      [
        { name: "5h", utilization: 0.452, resets_at: Date.UTC(2026, 2, 22, 18) },
        { name: "7d", utilization: 0.128 },
      ],
    );
    assert.deepEqual(
      codexUsageWindows({
        plan_type: "pro",
        rate_limit: {
          primary_window: { used_percent: 33, limit_window_seconds: 18000, reset_at: 1747920600 },
        },
      }),
      [{ name: "primary", utilization: 0.33, resets_at: 1747920600_000, minutes: 300 }],
    );
  });
});

const cand = (name: string) => ({ provider: { name, auth_type: "apikey" } });
const obs = (provider: string, status: number, h: Record<string, string>) => ({
  provider,
  status,
  headers: H(h),
});

describe("QuotaBook and the policy chain", () => {
  test("a rejected 429 skips the provider until its reset, then it is tried again", () => {
    const book = new QuotaBook();
    const chain = new PolicyChain([book, new Cooldown(3, 30)]);
    const e = chain.observe(
      cand("p1"),
      429,
      H(unifiedHeaders({ status: "rejected", h5: { status: "rejected", reset: NOW + 2000 } })),
      NOW,
    );
    assert.deepEqual(e, { until: NOW + 2000, window: "5h window" });
    chain.report("p1", { kind: "exhausted", exhaustion: e! }, NOW);
    const plan = chain.plan([cand("p1"), cand("p2")], NOW + 1000);
    assert.deepEqual(plan.list.map((c) => c.provider.name), ["p2"]);
    assert.match(
      plan.steps[0],
      /^p1 skipped \(usage limit \(5h window\) until 2026-05-04T12:00:02Z/,
    );
    assert.deepEqual(chain.plan([cand("p1")], NOW + 1000).exhaustedUntil, NOW + 2000);
    assert.deepEqual(chain.plan([cand("p1"), cand("p2")], NOW + 2000).list.length, 2);
    assert.equal(book.get("p1")?.exhausted, undefined, "the reset cleared it");
  });

  test("the skip is bounded to 7 days; a reset in the past is no skip; a 200 is none", () => {
    const book = new QuotaBook();
    book.exhausted("p1", { until: NOW + 30 * 86400_000 }, undefined, NOW);
    assert.equal(book.blockedUntil("p1", NOW), NOW + MAX_SKIP_MS);
    assert.equal(
      book.observe(obs("p2", 429, unifiedHeaders({ status: "rejected", reset: NOW - 1000 })), NOW),
      undefined,
    );
    assert.equal(
      book.observe(obs("p3", 200, unifiedHeaders({ status: "rejected", reset: NOW + 1000 })), NOW),
      undefined,
    );
    // Rejected without any reset: retry-after, else an hour.
    assert.deepEqual(
      book.observe(obs("p4", 429, unifiedHeaders({ status: "rejected", retryAfter: 20 })), NOW),
      { until: NOW + 20_000 },
    );
  });

  test("quota_soft_limit: a provider at or above it goes after the others; 1.0 is off", () => {
    const book = new QuotaBook();
    const chain = new PolicyChain([book, new Cooldown(3, 30)]);
    book.observe(
      obs("p1", 200, unifiedHeaders({ h5: { utilization: 0.96, reset: NOW + 1e6 } })),
      NOW,
    );
    book.observe(
      obs("p2", 200, unifiedHeaders({ h5: { utilization: 0.5, reset: NOW + 1e6 } })),
      NOW,
    );
    const order = () => chain.plan([cand("p1"), cand("p2")], NOW).list.map((c) => c.provider.name);
    assert.deepEqual(order(), ["p1", "p2"]);
    book.softLimit = 0.95;
    assert.deepEqual(order(), ["p2", "p1"]);
    assert.match(
      chain.plan([cand("p1"), cand("p2")], NOW).steps[0],
      /p1 deferred \(5h window at 96 %/,
    );
    // A window past its reset no longer counts.
    assert.deepEqual(
      chain.plan([cand("p1"), cand("p2")], NOW + 2e6).list.map((c) => c.provider.name),
      ["p1", "p2"],
    );
  });

  test("cool-down and quota in one chain: cooling ones last resort, exhausted never", () => {
    const book = new QuotaBook();
    const cooldown = new Cooldown(1, 30);
    const chain = new PolicyChain([book, cooldown]);
    chain.report("p1", { kind: "failed" }, NOW);
    book.exhausted("p2", { until: NOW + 60_000 }, undefined, NOW);
    const plan = chain.plan([cand("p1"), cand("p2")], NOW);
    assert.deepEqual(plan.list.map((c) => c.provider.name), ["p1"], "cooling: tried, nothing else");
    assert.equal(plan.exhaustedUntil, undefined);
  });
});

describe("UsageBook", () => {
  test("sums per day, provider, model and account; --days filters by day", () => {
    const u = new UsageBook();
    const ev = { provider: "p", model: "m", account: null, error: false, input_tokens: 3 };
    u.record({ ...ev, output_tokens: 2, cache_read_tokens: 7 }, NOW);
    u.record({ ...ev, error: true }, NOW);
    u.record(ev, NOW - 3 * 86400_000);
    const rows = u.rows(NOW);
    assert.equal(rows.length, 2);
    const today = usageSince(rows, 1, NOW);
    assert.deepEqual(today, [{
      day: dayOf(NOW),
      provider: "p",
      model: "m",
      account: null,
      requests: 2,
      errors: 1,
      input_tokens: 6,
      output_tokens: 2,
      cache_read_tokens: 7,
      cache_write_tokens: 0,
    }]);
    assert.equal(usageSince(rows, 4, NOW).length, 2);
  });
});

test("dayOf: the UTC day, also across midnight and back (it caches one day)", () => {
  const times = [
    Date.UTC(2026, 11, 1, 12),
    Date.UTC(2026, 11, 1, 23, 59, 59, 999),
    Date.UTC(2026, 11, 2),
    Date.UTC(2026, 11, 1, 0, 0, 0, 0),
    0,
    -1,
    Date.UTC(1969, 11, 31, 5),
  ];
  for (const t of times) assert.equal(dayOf(t), new Date(t).toISOString().slice(0, 10), `${t}`);
});
