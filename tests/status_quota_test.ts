// `ccmux status` with quota: the windows serve last saved (state/quota.json), and `--quota`
// asking stub usage endpoints live — Anthropic {base_url}/api/oauth/usage with the bearer and the
// OAuth beta, Codex {base_url}/../wham/usage with ChatGPT-Account-Id — where a failing endpoint
// is a warning, not exit 1.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";
import { startUpstreamStub } from "./helpers/upstream_stub.ts";
import { assertNoSecrets, record, writeSetup } from "./helpers/token_files.ts";

const T = 30_000;

describe("ccmux status and quota", () => {
  test("saved windows in the table and JSON; --quota asks the usage endpoints", async () => {
    const home = tempHome();
    const reset = new Date(Date.now() + 2 * 3600_000).toISOString();
    const stub = await startUpstreamStub((req) => {
      if (req.url === "/api/oauth/usage") {
        return { json: { five_hour: { utilization: 45, resets_at: reset }, seven_day: null } };
      }
      if (req.url === "/copilot_internal/user") {
        return {
          json: {
            copilot_plan: "business",
            quota_reset_date: "2027-01-01",
            quota_snapshots: {
              premium_interactions: { entitlement: 300, remaining: 75, unlimited: false },
              chat: { entitlement: 0, remaining: 0, unlimited: true },
            },
          },
        };
      }
      if (req.url === "/backend-api/wham/usage") {
        return {
          json: {
            plan_type: "plus",
            rate_limit: { primary_window: { used_percent: 60, limit_window_seconds: 18000 } },
          },
        };
      }
      return { status: 500, json: { error: "no" } };
    });
    try {
      const max = record("claude-max", "rt-max", 3600);
      const gpt = record("chatgpt", "rt-gpt", 3600, { kind: "openai", account_id: "acct-7" });
      const broken = record("other", "rt-other", 3600);
      const gh = record("gh", "rt-gh", 3600, { kind: "github-copilot" });
      writeSetup(home.dir, "http://127.0.0.1:9/never-called", {
        "claude-max": max,
        chatgpt: gpt,
        gh,
        other: broken,
      }, {
        gh: {
          client_id: "Iv1.stub",
          copilot_token_url: `${stub.url}/copilot_internal/v2/token`,
        },
      });
      const file = join(home.dir, "config.toml");
      writeFileSync(
        file,
        readFileSync(file, "utf8") +
          `[[providers]]
name = "max"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "claude-max"
base_url = "${stub.url}"
[[providers]]
name = "gpt"
provider_type = "codex"
auth_type = "oauth"
oauth_provider = "chatgpt"
base_url = "${stub.url}/backend-api/codex"
[[providers]]
name = "cop"
provider_type = "github-copilot"
auth_type = "oauth"
oauth_provider = "gh"
base_url = "${stub.url}/copilot"
[[providers]]
name = "down"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "other"
base_url = "${stub.url}/down"
`,
      );
      mkdirSync(join(home.dir, "state"), { recursive: true, mode: 0o700 });
      writeFileSync(
        join(home.dir, "state", "quota.json"),
        JSON.stringify({
          version: 1,
          providers: [{
            provider: "max",
            account: "claude-max",
            family: "anthropic",
            status: "allowed_warning",
            windows: [{ name: "5h", utilization: 0.9, resets_at: reset }],
            updated_at: new Date().toISOString(),
          }],
        }),
        { mode: 0o600 },
      );
      const env = baseEnv(home.dir);

      const table = await runCli(["status"], { env, timeoutMs: T });
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /ACCOUNT\s+KIND\s+EXPIRES\s+SCOPES\s+QUOTA\s+STATE/);
      assert.match(table.stdout, /claude-max .* 5h 90 % \(resets in 1h 5\dm|2h 0m\)/);
      assert.equal(stub.requests.length, 0, "no network without --quota");

      const saved = JSON.parse((await runCli(["status", "--json"], { env, timeoutMs: T })).stdout);
      const row = saved.find((r: { id: string }) => r.id === "claude-max");
      assert.deepEqual(row.quota[0].windows, [{ name: "5h", utilization: 0.9, resets_at: reset }]);
      assert.equal(row.quota[0].source, "saved");

      const live = await runCli(["status", "--quota", "--json"], { env, timeoutMs: T });
      assert.equal(live.code, 0, "a failing endpoint is a warning");
      assert.match(
        live.stderr,
        /warning: other: quota not available \(down: \/down\/api\/oauth\/usage answered HTTP 500\)/,
      );
      assertNoSecrets(live.stdout + live.stderr, [
        max.access_token,
        gpt.access_token,
        gh.access_token,
      ]);
      const rows = JSON.parse(live.stdout);
      const m = rows.find((r: { id: string }) => r.id === "claude-max");
      assert.deepEqual(m.quota, [{
        provider: "max",
        source: "live",
        windows: [{ name: "5h", utilization: 0.45, resets_at: reset }],
      }]);
      const g = rows.find((r: { id: string }) => r.id === "chatgpt");
      assert.deepEqual(g.quota[0].windows, [{ name: "primary", utilization: 0.6 }]);
      // Copilot: the metered premium requests (an unlimited snapshot is no window).
      const cop = rows.find((r: { id: string }) => r.id === "gh");
      assert.deepEqual(cop.quota[0].windows, [{
        name: "premium",
        utilization: 0.75,
        resets_at: "2027-01-01T00:00:00.000Z",
      }]);
      const u = stub.requests.find((r) => r.url === "/copilot_internal/user")!;
      assert.equal(u.headers.authorization, `Bearer ${gh.access_token}`);

      const a = stub.requests.find((r) => r.url === "/api/oauth/usage")!;
      assert.equal(a.method, "GET");
      assert.equal(a.headers.authorization, `Bearer ${max.access_token}`);
      assert.equal(a.headers["anthropic-beta"], "oauth-2025-04-20");
      const c = stub.requests.find((r) => r.url === "/backend-api/wham/usage")!;
      assert.equal(c.headers.authorization, `Bearer ${gpt.access_token}`);
      assert.equal(c.headers["chatgpt-account-id"], "acct-7");
    } finally {
      await stub.close();
      home.cleanup();
    }
  });
});
