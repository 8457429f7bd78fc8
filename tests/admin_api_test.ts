// The management API end to end on a real socket: every refusal (admin off, token, Host,
// Origin, non-loopback listener, content type), the sign-in through the API against the stub
// authorization server (CODE#STATE, a callback URL, GET /callback), refresh, sign-out, the
// live event stream, and no secret in any answer or log line.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCcmux, type TestCcmux, testConfig } from "./helpers/ccmux_server.ts";
import { tempHome } from "./helpers/cli.ts";
import { type AuthzStub, startAuthzStub } from "./helpers/authz_stub.ts";
import { type OAuthStub, startOAuthStub } from "./helpers/oauth_stub.ts";
import { startUpstreamStub, type UpstreamStub } from "./helpers/upstream_stub.ts";
import { record } from "./helpers/token_files.ts";
import { ConfigError } from "../src/config/mod.ts";
import { EventHub } from "../src/admin/events.ts";
import { FLOW_TTL_MS, FlowError, SignInFlows } from "../src/admin/flows.ts";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request with full control of Host and Origin (fetch forbids setting Host). */
function raw(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...opts.headers };
    if (opts.body !== undefined) headers["content-length"] = String(Buffer.byteLength(opts.body));
    const req = httpRequest(
      { host: "127.0.0.1", port, method: opts.method ?? "GET", path: opts.path, headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => (text += d)).on(
          "end",
          () => resolve({ status: res.statusCode!, headers: res.headers, text }),
        ).on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

const ADMIN_TOKEN = randomBytes(32).toString("base64url");
const UPSTREAM_KEY = `sk-upstream-${randomBytes(8).toString("hex")}`;

describe("admin API", () => {
  let authz: AuthzStub;
  let refresher: OAuthStub;
  let upstream: UpstreamStub;
  let ccmux: TestCcmux;
  let home: { dir: string; cleanup: () => void };
  let seededRt: string;
  const answers: string[] = [];
  const tokensSeen: string[] = [];

  /** An authorised admin request; every answer is kept for the leak check. */
  async function api(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const a = await raw(ccmux.port, {
      method,
      path,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    answers.push(a.text, JSON.stringify(a.headers));
    return a;
  }

  /** Plays the browser: follows the authorize URL to the redirect the stub sends. */
  async function approve(url: string): Promise<string> {
    const res = await fetch(url, { redirect: "manual" });
    await res.body?.cancel();
    assert.equal(res.status, 302);
    return res.headers.get("location")!;
  }

  before(async () => {
    authz = await startAuthzStub();
    refresher = await startOAuthStub();
    upstream = await startUpstreamStub();
    home = tempHome();
    seededRt = refresher.seed();
    const seeded = record("seeded", seededRt, 3600, { account: { email: "a@example.com" } });
    tokensSeen.push(seeded.access_token);
    const file = join(home.dir, "oauth_tokens.json");
    writeFileSync(file, JSON.stringify({ seeded }));
    chmodSync(file, 0o600);
    ccmux = await startCcmux(
      `[admin]\nenabled = true\ntoken = "$CCMUX_ADMIN_TOKEN"\n` +
        `[[providers]]\nname = "up"\nprovider_type = "anthropic"\nauth_type = "apikey"\n` +
        `api_key = "${UPSTREAM_KEY}"\nbase_url = "${upstream.url}"\n` +
        `[oauth.seeded]\nkind = "anthropic"\ntoken_url = "${refresher.tokenUrl}"\n` +
        `[oauth.fresh]\nkind = "anthropic"\nclient_id = "test-client"\n` +
        `authorize_url = "${authz.authorizeUrl}"\ntoken_url = "${authz.tokenUrl}"\n` +
        `paste_redirect_uri = "${authz.pasteUrl}"\n`,
      { env: { CCMUX_HOME: home.dir, CCMUX_ADMIN_TOKEN: ADMIN_TOKEN } },
    );
  });

  after(async () => {
    await ccmux.close();
    await authz.close();
    await refresher.close();
    await upstream.close();
    home.cleanup();
  });

  describe("refusals", () => {
    test("admin off: /api/*, /admin and /callback are 404", async () => {
      const off = await startCcmux(
        `[[providers]]\nname = "up"\nprovider_type = "anthropic"\n` +
          `api_key = "k"\nbase_url = "${upstream.url}"\n`,
      );
      try {
        for (const path of ["/api/oauth/tokens", "/api/config", "/admin", "/callback?state=x"]) {
          const a = await raw(off.port, {
            path,
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          });
          assert.equal(a.status, 404, path);
          assert.equal(JSON.parse(a.text).error.type, "not_found_error");
        }
      } finally {
        await off.close();
      }
    });

    test("no token or a wrong one → 401", async () => {
      for (
        const auth of [undefined, "Bearer wrong", `Bearer ${ADMIN_TOKEN}x`, `Basic ${ADMIN_TOKEN}`]
      ) {
        const a = await raw(ccmux.port, {
          path: "/api/oauth/tokens",
          headers: auth ? { authorization: auth } : {},
        });
        assert.equal(a.status, 401, String(auth));
        assert.equal(JSON.parse(a.text).error.type, "authentication_error");
      }
    });

    test("a foreign Host → 403 (DNS rebinding), even with the token", async () => {
      const a = await api("GET", "/api/oauth/tokens", undefined, { host: "evil.example:80" });
      assert.equal(a.status, 403);
      assert.equal(JSON.parse(a.text).error.type, "permission_error");
    });

    test("a cross-site Origin → 403; serve's own origin passes; /v1/* still refuses it", async () => {
      for (
        const origin of [
          "https://evil.example",
          "null",
          `http://localhost:${ccmux.port}`,
          `https://127.0.0.1:${ccmux.port}`,
        ]
      ) {
        const a = await api("GET", "/api/oauth/tokens", undefined, { origin });
        assert.equal(a.status, 403, origin);
      }
      const own = `http://127.0.0.1:${ccmux.port}`;
      assert.equal((await api("GET", "/api/oauth/tokens", undefined, { origin: own })).status, 200);
      const v1 = await raw(ccmux.port, { path: "/v1/models", headers: { origin: own } });
      assert.equal(v1.status, 403);
    });

    test("POST and DELETE without Content-Type: application/json → 415", async () => {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
        const a = await raw(ccmux.port, {
          method: "POST",
          path: "/api/oauth/authorize",
          headers: {
            authorization: `Bearer ${ADMIN_TOKEN}`,
            ...(type ? { "content-type": type } : {}),
          },
          body: `{"provider_id":"fresh"}`,
        });
        assert.equal(a.status, 415, String(type));
      }
      const del = await raw(ccmux.port, {
        method: "DELETE",
        path: "/api/oauth/tokens/seeded",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(del.status, 415);
    });

    test("a non-loopback listener → 403 unless allow_remote (which needs server.api_key)", async () => {
      const base = `[server]\nhost = "0.0.0.0"\napi_key = "server-key-123"\n` +
        `[[providers]]\nname = "up"\nprovider_type = "anthropic"\napi_key = "k"\n` +
        `base_url = "${upstream.url}"\n[admin]\nenabled = true\ntoken = "${ADMIN_TOKEN}"\n`;
      const env = { CCMUX_HOME: home.dir };
      for (const [extra, want] of [["", 403], ["allow_remote = true\n", 200]] as const) {
        const remote = await startCcmux(testConfig(base + extra, env));
        try {
          const a = await raw(remote.port, {
            path: "/api/oauth/tokens",
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          });
          assert.equal(a.status, want, extra || "without allow_remote");
        } finally {
          await remote.close();
        }
      }
      assert.throws(
        () => testConfig(`[admin]\nenabled = true\nallow_remote = true\n`, env),
        (e: unknown) => e instanceof ConfigError && /admin\.allow_remote/.test(e.message),
      );
    });
  });

  test("GET /api/oauth/tokens lists the accounts without a secret", async () => {
    const a = await api("GET", "/api/oauth/tokens");
    assert.equal(a.status, 200);
    const { accounts } = JSON.parse(a.text);
    assert.equal(accounts.length, 1);
    const [s] = accounts;
    assert.equal(s.id, "seeded");
    assert.equal(s.kind, "anthropic");
    assert.equal(s.refreshable, true);
    assert.equal(s.needs_login, false);
    assert.deepEqual(s.account, { email: "a@example.com" });
    assert.ok(s.expires_in_s > 3500 && s.expires_in_s <= 3600);
    assert.deepEqual(s.scopes, ["user:inference"]);
  });

  describe("sign-in through the API", () => {
    test("authorize → paste CODE#STATE → exchange", async () => {
      const a = await api("POST", "/api/oauth/authorize", { provider_id: "fresh" });
      assert.equal(a.status, 200, a.text);
      const flow = JSON.parse(a.text);
      assert.equal(flow.expires_in_s, 600);
      assert.match(flow.flow_id, /^[A-Za-z0-9_-]{20,}$/);
      const loopback = new URL(flow.url).searchParams.get("redirect_uri");
      assert.equal(loopback, `http://localhost:${ccmux.port}/callback`);
      assert.equal(new URL(flow.paste_url).searchParams.get("redirect_uri"), authz.pasteUrl);
      // The paste page shows CODE#STATE.
      const page = await fetch(await approve(flow.paste_url));
      const pasted = (await page.text()).trim();
      const [code] = pasted.split("#");
      // A wrong state ends nothing, and never reaches the token endpoint.
      const calls = authz.tokenCalls.length;
      const wrong = await api("POST", "/api/oauth/exchange", {
        flow_id: flow.flow_id,
        code: `${code}#not-the-state`,
      });
      assert.equal(wrong.status, 400);
      assert.equal(authz.tokenCalls.length, calls);
      const done = await api("POST", "/api/oauth/exchange", {
        flow_id: flow.flow_id,
        code: pasted,
      });
      assert.equal(done.status, 200, done.text);
      const acct = JSON.parse(done.text);
      assert.equal(acct.id, "fresh");
      assert.equal(acct.refreshable, true);
      assert.equal(authz.tokenCalls.at(-1)!.pkceOk, true);
      assert.equal(authz.tokenCalls.at(-1)!.params.redirect_uri, authz.pasteUrl);
      // The flow is over.
      const again = await api("POST", "/api/oauth/exchange", {
        flow_id: flow.flow_id,
        code: pasted,
      });
      assert.equal(again.status, 404);
    });

    test("authorize → exchange with a pasted callback URL (by provider_id)", async () => {
      const flow = JSON.parse(
        (await api("POST", "/api/oauth/authorize", { provider_id: "fresh" })).text,
      );
      const location = await approve(flow.url);
      assert.ok(location.startsWith(`http://localhost:${ccmux.port}/callback?`));
      const done = await api("POST", "/api/oauth/exchange", {
        provider_id: "fresh",
        code: location,
      });
      assert.equal(done.status, 200, done.text);
      assert.equal(JSON.parse(done.text).id, "fresh");
      assert.equal(
        authz.tokenCalls.at(-1)!.params.redirect_uri,
        `http://localhost:${ccmux.port}/callback`,
      );
    });

    test("authorize → the browser lands on GET /callback; an unknown state → 400, ends nothing", async () => {
      const flow = JSON.parse(
        (await api("POST", "/api/oauth/authorize", { provider_id: "fresh" })).text,
      );
      const location = new URL(await approve(flow.url));
      const stray = await raw(ccmux.port, { path: `/callback?code=x&state=forged` });
      answers.push(stray.text);
      assert.equal(stray.status, 400);
      const noState = await raw(ccmux.port, { path: `/callback?code=x` });
      assert.equal(noState.status, 400);
      const cb = await raw(ccmux.port, { path: location.pathname + location.search });
      answers.push(cb.text);
      assert.equal(cb.status, 200, cb.text);
      assert.match(cb.text, /Signed in/);
      assert.match(String(cb.headers["content-security-policy"]), /default-src 'none'/);
      const list = JSON.parse((await api("GET", "/api/oauth/tokens")).text);
      assert.deepEqual(list.accounts.map((x: { id: string }) => x.id), ["fresh", "seeded"]);
      // Replayed: the flow has ended.
      const replay = await raw(ccmux.port, { path: location.pathname + location.search });
      assert.equal(replay.status, 400);
    });

    test("an unknown account → 400; exchange without a flow → 404", async () => {
      const a = await api("POST", "/api/oauth/authorize", { provider_id: "nobody" });
      assert.equal(a.status, 400);
      const b = await api("POST", "/api/oauth/exchange", { provider_id: "seeded", code: "a#b" });
      assert.equal(b.status, 404);
      const c = await api("POST", "/api/oauth/authorize", {});
      assert.equal(c.status, 400);
    });
  });

  test("refresh: concurrent requests cause one refresh at the stub", async () => {
    const before = refresher.refreshCount;
    const results = await Promise.all(
      [1, 2, 3].map(() => api("POST", "/api/oauth/tokens/seeded/refresh", {})),
    );
    for (const r of results) assert.equal(r.status, 200, r.text);
    assert.equal(refresher.refreshCount - before, 1);
    assert.equal(JSON.parse(results[0].text).id, "seeded");
    const missing = await api("POST", "/api/oauth/tokens/nobody/refresh", {});
    assert.equal(missing.status, 404);
  });

  test("GET /api/config is redacted; /api/providers and /api/usage answer", async () => {
    const cfg = await api("GET", "/api/config");
    assert.equal(cfg.status, 200);
    const c = JSON.parse(cfg.text);
    assert.equal(c.admin.token, "***");
    assert.equal(c.providers[0].api_key, "***");
    const p = await api("GET", "/api/providers");
    assert.equal(p.status, 200);
    const [up] = JSON.parse(p.text).providers;
    assert.equal(up.name, "up");
    assert.equal(up.state, "ok");
    const u = await api("GET", "/api/usage?days=3");
    assert.equal(u.status, 200);
    assert.ok(Array.isArray(JSON.parse(u.text)));
    assert.equal((await api("GET", "/api/usage?days=0")).status, 400);
    assert.equal((await api("GET", "/api/usage?days=x")).status, 400);
    assert.equal((await api("GET", "/api/nothing")).status, 404);
  });

  test("GET /api/events streams a proxied request's record", async () => {
    const res = await fetch(`${ccmux.url}/api/events`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = "";
    await reader.read(); // the opening comment: the stream is connected
    const proxied = await fetch(`${ccmux.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "client" },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(proxied.status, 200);
    await proxied.text();
    let rec: Record<string, unknown> | undefined;
    while (!rec) {
      const { value, done } = await reader.read();
      assert.ok(!done, "stream ended early");
      buf += dec.decode(value, { stream: true });
      for (const ev of buf.split("\n\n")) {
        const m = /^event: request\ndata: (.*)$/m.exec(ev);
        if (m) {
          const r = JSON.parse(m[1]);
          if (r.path === "/v1/messages") rec = r;
        }
      }
    }
    await reader.cancel();
    answers.push(buf);
    assert.equal(rec.status, 200);
    assert.equal(rec.provider, "up");
    assert.equal(rec.model, "claude-sonnet-4-5");
    assert.equal(typeof rec.duration_ms, "number");
    const p = JSON.parse((await api("GET", "/api/providers")).text).providers[0];
    assert.equal(typeof p.recent_latency_ms, "number");
  });

  test("DELETE /api/oauth/tokens/ID removes and revokes; unknown → 404", async () => {
    const a = await api("DELETE", "/api/oauth/tokens/seeded", {});
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(JSON.parse(a.text), { removed: "seeded", revoked: true });
    assert.equal(refresher.revocations.length, 1);
    const b = await api("DELETE", "/api/oauth/tokens/seeded", {});
    assert.equal(b.status, 404);
    assert.equal(JSON.parse(b.text).error.type, "not_found_error");
  });

  test("GET /admin: one HTML page, strict CSP (script by hash), no external assets", async () => {
    const a = await raw(ccmux.port, { path: "/admin" });
    answers.push(a.text);
    assert.equal(a.status, 200);
    assert.match(String(a.headers["content-type"]), /^text\/html/);
    const csp = String(a.headers["content-security-policy"]);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!csp.includes("unsafe"), csp);
    const script = /<script>([\s\S]*)<\/script>/.exec(a.text)![1];
    const hash = createHash("sha256").update(script).digest("base64");
    assert.ok(csp.includes(`'sha256-${hash}'`), "the inline script's hash is in the CSP");
    assert.ok(!/\s(src|href)="?https?:/i.test(a.text), "no external asset");
    for (const name of ["Refresh", "Sign out", "Sign in"]) {
      assert.ok(a.text.includes(`"${name}"`) || a.text.includes(`>${name}<`), name);
    }
    const foreign = await raw(ccmux.port, {
      path: "/admin",
      headers: { origin: "https://evil.example" },
    });
    assert.equal(foreign.status, 403);
  });

  test("no answer or log line holds a token, key, verifier or the admin token", () => {
    // Everything secret that passed through: issued and stored tokens, refresh tokens, the
    // PKCE verifiers the stub saw, the upstream key, the admin token.
    const secrets = [
      ...tokensSeen,
      ...authz.issued,
      ...refresher.issued,
      seededRt,
      ADMIN_TOKEN,
      UPSTREAM_KEY,
      ...authz.tokenCalls.map((c) => c.params.code_verifier),
      ...refresher.tokenRequests.map((r) => r.body.refresh_token),
    ];
    const file = JSON.parse(readFileSync(join(home.dir, "oauth_tokens.json"), "utf8"));
    for (const r of Object.values(file) as { access_token: string; refresh_token?: string }[]) {
      secrets.push(r.access_token, r.refresh_token ?? "");
    }
    assert.ok(secrets.length > 8);
    const text = answers.join("\n") + ccmux.logs.join("");
    for (const s of secrets) {
      if (s) assert.ok(!text.includes(s), "an answer or log line holds a secret");
    }
  });
});

describe("admin events backpressure", () => {
  test("a client that never reads loses events; publishing never waits", async () => {
    const hub = new EventHub();
    const res = hub.connect();
    const started = performance.now();
    for (let i = 0; i < 5000; i++) {
      hub.publish({
        id: `x-${i}`,
        method: "POST",
        path: "/v1/messages",
        status: 200,
        duration_ms: 1,
      });
    }
    assert.ok(performance.now() - started < 1000);
    assert.ok(hub.dropped > 4000, `dropped ${hub.dropped}`);
    await res.body!.cancel();
    assert.equal(hub.clients, 0);
  });
});

describe("admin sign-in flows", () => {
  test("a flow expires after 10 minutes; the verifier and state are not in the answer", async () => {
    let now = 1_000_000;
    const flows = new SignInFlows(fetch, () => now);
    const config = testConfig(
      `[oauth.x]\nkind = "anthropic"\nclient_id = "c"\n` +
        `authorize_url = "http://127.0.0.1:9/authorize"\ntoken_url = "http://127.0.0.1:9/token"\n`,
      { CCMUX_HOME: "/nonexistent" },
    );
    const started = await flows.start(config, "x", "4321");
    assert.deepEqual(Object.keys(started).sort(), ["expires_in_s", "flow_id", "paste_url", "url"]);
    assert.equal(started.expires_in_s, FLOW_TTL_MS / 1000);
    const state = new URL(started.url).searchParams.get("state")!;
    now += FLOW_TTL_MS + 1;
    await assert.rejects(
      flows.exchange(config, { flow_id: started.flow_id }, `code#${state}`),
      (e: unknown) => e instanceof FlowError && e.status === 404,
    );
  });
});
