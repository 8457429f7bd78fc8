// `ccmux serve` core (docs/CONFIG.md, docs/SECURITY.md): pass-through exactness, credentials, OAuth refresh on 401,
// streaming chunk by chunk, client disconnects, safety checks, and secret-free logs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import Anthropic from "@anthropic-ai/sdk";
import {
  messageEvents,
  messageJson,
  refusedPort,
  startUpstreamStub,
} from "./helpers/upstream_stub.ts";
import { startCcmux, testConfig } from "./helpers/ccmux_server.ts";
import { CLAUDE_CODE_BETAS, claudeCodeRequest } from "./helpers/claude_code_request.ts";
import { startOAuthStub } from "./helpers/oauth_stub.ts";
import { record } from "./helpers/token_files.ts";
import { tempHome } from "./helpers/cli.ts";
import { TokenManager } from "../src/auth/refresh.ts";

const PROVIDER_KEY = "sk-ant-provider-key-0123456789";
const CLIENT_KEY = "sk-ant-client-key-abcdef";
const SERVER_KEY = "ccmux-server-key-zyxwvu";

function apikeyConfig(upstream: string, extra = ""): string {
  return `
${extra}
[[providers]]
name = "up"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "${PROVIDER_KEY}"
base_url = "${upstream}"
`;
}

/** A raw HTTP/1.1 request (fetch cannot set Host). */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

function assertAnthropicError(body: string, type: string) {
  const j = JSON.parse(body);
  assert.equal(j.type, "error");
  assert.equal(j.error.type, type);
  assert.equal(typeof j.error.message, "string");
}

/** Reads a response body to the end as bytes. */
async function bytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

describe("pass-through to an Anthropic upstream", () => {
  test("the Anthropic SDK streams and non-streams a message through ccmux", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(apikeyConfig(stub.url));
    try {
      const client = new Anthropic({ baseURL: ccmux.url, apiKey: CLIENT_KEY, maxRetries: 0 });
      const msg = await client.messages.create({
        model: "claude-sonnet-5",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      });
      assert.equal(msg.content[0].type, "text");
      assert.equal((msg.content[0] as { text: string }).text, "Hello from the stub");

      const stream = client.messages.stream({
        model: "claude-sonnet-5",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      });
      const final = await stream.finalMessage();
      assert.equal((final.content[0] as { text: string }).text, "Hello from the stub");

      assert.equal(stub.requests.length, 2);
      for (const r of stub.requests) {
        assert.equal(r.headers["x-api-key"], PROVIDER_KEY);
        assert.equal(r.headers["authorization"], undefined);
        assert.ok(r.headers["anthropic-version"]);
      }
      assert.equal(stub.requests[1].json?.stream, true);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("a Claude Code request: body unchanged but for model, query kept, bytes back exact", async () => {
    const stub = await startUpstreamStub((req) => ({
      events: messageEvents(["naïve ", "café ✓"]),
      headers: {
        "anthropic-ratelimit-requests-remaining": "41",
        "retry-after": "7",
        "x-upstream-extra": "kept",
      },
      status: req.json?.stream ? 200 : 500,
    }));
    const ccmux = await startCcmux(
      apikeyConfig(
        stub.url,
        `
[router]
default = "big"
[[models]]
name = "big"
[[models.mappings]]
provider = "up"
actual_model = "upstream-model-x"
priority = 1
`,
      ),
    );
    try {
      const cc = claudeCodeRequest({ auth: { apiKey: CLIENT_KEY } });
      assert.ok(cc.body.length > 50_000);
      const res = await fetch(ccmux.url + cc.path, {
        method: "POST",
        headers: cc.headers,
        body: cc.body,
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("request-id"), "req_stub_0");
      assert.equal(res.headers.get("anthropic-ratelimit-requests-remaining"), "41");
      assert.equal(res.headers.get("retry-after"), "7");
      assert.match(res.headers.get("content-type")!, /text\/event-stream/);
      const got = await bytes(res);
      assert.deepEqual(Buffer.from(got), Buffer.from(stub.sentBytes(0)));

      const seen = stub.requests[0];
      assert.equal(seen.url, "/v1/messages?beta=true");
      const expected = cc.body.replace('"model":"claude-opus-4-8"', '"model":"upstream-model-x"');
      assert.equal(Buffer.from(seen.body).toString("utf8"), expected);
      // Credentials: the provider's key only; the client's key never goes upstream.
      assert.equal(seen.headers["x-api-key"], PROVIDER_KEY);
      assert.equal(seen.headers["authorization"], undefined);
      // The client's identity and betas go up as sent.
      assert.equal(seen.headers["anthropic-beta"], CLAUDE_CODE_BETAS.join(","));
      assert.equal(seen.headers["user-agent"], cc.headers["user-agent"]);
      assert.equal(seen.headers["x-app"], "cli");
      assert.equal(seen.headers["x-stainless-lang"], "js");
      assert.equal(seen.headers["accept-encoding"], "identity");
      const line = await ccmux.waitForLog(/ 200 /);
      assert.match(line, /claude-opus-4-8 → up\/upstream-model-x/);
      assert.match(line, /rule=default/);
      assert.match(line, /tokens=12\/2/);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("count_tokens and /v1/models; a path in base_url is kept; JSON log lines", async () => {
    const stub = await startUpstreamStub({ json: { input_tokens: 4242 } });
    const ccmux = await startCcmux(apikeyConfig(
      stub.url + "/prefix",
      `
[server]
log_format = "json"
[[models]]
name = "my-model"
[[models.mappings]]
provider = "up"
actual_model = "real"
priority = 1
`,
    ));
    try {
      const res = await fetch(ccmux.url + "/v1/messages/count_tokens?beta=true", {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "my-model", messages: [{ role: "user", content: "hi" }] }),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { input_tokens: 4242 });
      assert.equal(stub.requests[0].url, "/prefix/v1/messages/count_tokens?beta=true");
      assert.equal(stub.requests[0].json?.model, "real");

      const models = await (await fetch(ccmux.url + "/v1/models")).json();
      assert.deepEqual(models.data.map((m: { id: string }) => m.id), ["my-model"]);
      assert.equal(models.data[0].type, "model");
      const health = await (await fetch(ccmux.url + "/health")).json();
      assert.deepEqual(Object.keys(health), ["status", "version"]);
      assert.equal(health.status, "ok");
      const line = JSON.parse(await ccmux.waitForLog(/count_tokens/));
      assert.equal(line.path, "/v1/messages/count_tokens");
      assert.equal(line.status, 200);
      assert.equal(line.model, "my-model");
      assert.equal(line.provider, "up");
      assert.equal(line.upstream_model, "real");
      assert.equal(typeof line.duration_ms, "number");
      assert.equal(typeof line.time, "string");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("passthrough forwards the client's key but never the ccmux server key", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(`
[server]
api_key = "${SERVER_KEY}"
[[providers]]
name = "pt"
provider_type = "anthropic"
auth_type = "passthrough"
base_url = "${stub.url}"
`);
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "authorization": `Bearer ${SERVER_KEY}`,
          "x-api-key": CLIENT_KEY,
        },
        body: JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [] }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(stub.requests[0].headers["x-api-key"], CLIENT_KEY);
      assert.equal(stub.requests[0].headers["authorization"], undefined);
      assert.equal(stub.requests[0].json?.model, "claude-x");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("OAuth upstream", () => {
  test("50 concurrent streams with a rejected token: one refresh, all succeed", async () => {
    const oauth = await startOAuthStub();
    const home = tempHome();
    const rt = oauth.seed();
    const old = record("claude-max", rt, 3600);
    const tokenFile = join(home.dir, "oauth_tokens.json");
    writeFileSync(tokenFile, JSON.stringify({ "claude-max": old }), { mode: 0o600 });
    const stub = await startUpstreamStub((req) =>
      req.headers["authorization"] === `Bearer ${old.access_token}`
        ? {
          status: 401,
          json: {
            type: "error",
            error: { type: "authentication_error", message: "OAuth token has expired" },
          },
        }
        : { events: messageEvents() }
    );
    const config = testConfig(
      `
[[providers]]
name = "max"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "claude-max"
base_url = "${stub.url}"
[auth]
token_file = "${tokenFile}"
[oauth.claude-max]
kind = "anthropic"
token_url = "${oauth.tokenUrl}"
`,
      { CCMUX_HOME: home.dir },
    );
    const ccmux = await startCcmux(config, { tokens: new TokenManager({ config }) });
    try {
      const cc = claudeCodeRequest({ auth: { authToken: "client-token-ignored" }, targetKb: 8 });
      const results = await Promise.all(Array.from({ length: 50 }, async () => {
        const res = await fetch(ccmux.url + cc.path, {
          method: "POST",
          headers: cc.headers,
          body: cc.body,
        });
        return { status: res.status, text: await res.text() };
      }));
      for (const r of results) {
        assert.equal(r.status, 200);
        assert.match(r.text, /event: message_stop/);
      }
      assert.equal(oauth.refreshCount, 1);
      const fresh = oauth.issued[oauth.issued.length - 1];
      const ok = stub.requests.filter((r) => r.headers["authorization"] === `Bearer ${fresh}`);
      assert.equal(ok.length, 50);
      for (const r of stub.requests) {
        assert.equal(r.headers["x-api-key"], undefined);
        assert.equal(
          r.headers["anthropic-beta"],
          [...CLAUDE_CODE_BETAS, "oauth-2025-04-20"].join(","),
        );
      }
      // No token or key in the whole log.
      const log = ccmux.logs.join("");
      for (const secret of [old.access_token, rt, ...oauth.issued, "client-token-ignored"]) {
        assert.equal(log.includes(secret), false, "a secret appears in the log");
      }
    } finally {
      await ccmux.close();
      await stub.close();
      await oauth.close();
      home.cleanup();
    }
  });

  test("a dead refresh token gives the client a 401 naming `ccmux login`", async () => {
    const home = tempHome();
    const tokenFile = join(home.dir, "oauth_tokens.json");
    writeFileSync(
      tokenFile,
      JSON.stringify({ "claude-max": record("claude-max", undefined, -60) }),
      { mode: 0o600 },
    );
    const stub = await startUpstreamStub();
    const config = testConfig(
      `
[[providers]]
name = "max"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "claude-max"
base_url = "${stub.url}"
[auth]
token_file = "${tokenFile}"
`,
      { CCMUX_HOME: home.dir },
    );
    const ccmux = await startCcmux(config, { tokens: new TokenManager({ config }) });
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [] }),
      });
      assert.equal(res.status, 401);
      const body = await res.text();
      assertAnthropicError(body, "authentication_error");
      assert.match(body, /ccmux login claude-max/);
      assert.equal(stub.requests.length, 0);
    } finally {
      await ccmux.close();
      await stub.close();
      home.cleanup();
    }
  });
});

describe("OAuth token problems", () => {
  /** A config with oauth provider "max" (account claude-max) first and apikey "up" second. */
  function oauthThenKey(tokenFile: string, oauthUrl: string, keyUrl: string, tokenUrl: string) {
    return `
[[providers]]
name = "max"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "claude-max"
base_url = "${oauthUrl}"
[[providers]]
name = "up"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "${PROVIDER_KEY}"
base_url = "${keyUrl}"
[[models]]
name = "m"
[[models.mappings]]
provider = "max"
actual_model = "claude-x"
priority = 1
[[models.mappings]]
provider = "up"
actual_model = "claude-y"
priority = 2
[auth]
token_file = "${tokenFile}"
[oauth.claude-max]
kind = "anthropic"
token_url = "${tokenUrl}"
`;
  }

  test("a sign-in that is needed fails over to the next mapping; the log names the step", async () => {
    const home = tempHome();
    const tokenFile = join(home.dir, "oauth_tokens.json");
    writeFileSync(
      tokenFile,
      JSON.stringify({ "claude-max": record("claude-max", undefined, -60) }),
      { mode: 0o600 },
    );
    const oauthUp = await startUpstreamStub();
    const keyUp = await startUpstreamStub();
    const dead = await refusedPort();
    const port = dead.port;
    const config = testConfig(
      oauthThenKey(tokenFile, oauthUp.url, keyUp.url, `http://127.0.0.1:${port}/token`),
      { CCMUX_HOME: home.dir },
    );
    const ccmux = await startCcmux(config, { tokens: new TokenManager({ config }) });
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", max_tokens: 1, messages: [] }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(oauthUp.requests.length, 0);
      assert.equal(keyUp.requests[0].json?.model, "claude-y");
      const line = await ccmux.waitForLog(/POST \/v1\/messages 200/);
      assert.match(line, /failover: max login needed \(run: ccmux login claude-max\) → up 200/);
    } finally {
      await ccmux.close();
      await oauthUp.close();
      await keyUp.close();
      await dead.close();
      home.cleanup();
    }
  });

  test("a failed refresh: the 502 and the log line carry the cause, never the token", async () => {
    const home = tempHome();
    const tokenFile = join(home.dir, "oauth_tokens.json");
    const rt = "rt-secret-refresh-token-4242";
    writeFileSync(
      tokenFile,
      JSON.stringify({ "claude-max": record("claude-max", rt, -60) }),
      { mode: 0o600 },
    );
    const oauthUp = await startUpstreamStub();
    const dead = await refusedPort();
    const port = dead.port;
    const config = testConfig(
      oauthThenKey(tokenFile, oauthUp.url, oauthUp.url, `http://127.0.0.1:${port}/token`)
        .replace(/\[\[models.mappings\]\]\nprovider = "up"[^[]*/, ""),
      { CCMUX_HOME: home.dir },
    );
    const ccmux = await startCcmux(config, { tokens: new TokenManager({ config }) });
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", max_tokens: 1, messages: [] }),
      });
      assert.equal(res.status, 502);
      const body = await res.text();
      assertAnthropicError(body, "api_error");
      const message = JSON.parse(body).error.message;
      assert.match(
        message,
        new RegExp(`refreshing the OAuth token for 'claude-max' failed: cannot reach .*${port}`),
      );
      assert.equal(oauthUp.requests.length, 0);
      const line = await ccmux.waitForLog(/POST \/v1\/messages 502/);
      assert.match(line, /error="OAuth refresh failed \(cannot reach http:\/\/127\.0\.0\.1:\d+/);
      assert.equal(body.includes(rt) || ccmux.logs.join("").includes(rt), false);
    } finally {
      await ccmux.close();
      await oauthUp.close();
      await dead.close();
      home.cleanup();
    }
  });
});

describe("credentials and betas", () => {
  test("an anthropic-console account's API key goes as x-api-key, without the OAuth beta", async () => {
    const home = tempHome();
    const tokenFile = join(home.dir, "oauth_tokens.json");
    const rec = record("console", "rt-console-unused", 3600, {
      kind: "anthropic-console",
      api_key: "sk-ant-console-key-777",
    });
    writeFileSync(tokenFile, JSON.stringify({ console: rec }), { mode: 0o600 });
    const stub = await startUpstreamStub();
    const config = testConfig(
      `
[[providers]]
name = "con"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "console"
base_url = "${stub.url}"
[auth]
token_file = "${tokenFile}"
[oauth.console]
kind = "anthropic-console"
`,
      { CCMUX_HOME: home.dir },
    );
    const ccmux = await startCcmux(config, { tokens: new TokenManager({ config }) });
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-beta": "a-1,oauth-2025-04-20,b-2",
          "authorization": "Bearer client-oauth-token-ignored",
        },
        body: JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [] }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const seen = stub.requests[0].headers;
      assert.equal(seen["x-api-key"], "sk-ant-console-key-777");
      assert.equal(seen["authorization"], undefined);
      assert.equal(seen["anthropic-beta"], "a-1,b-2");
      assert.equal(ccmux.logs.join("").includes("sk-ant-console-key-777"), false);
    } finally {
      await ccmux.close();
      await stub.close();
      home.cleanup();
    }
  });

  test("the client's OAuth beta is dropped for an apikey provider, kept for passthrough", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(
      apikeyConfig(stub.url) + `
[[providers]]
name = "pt"
provider_type = "anthropic"
auth_type = "passthrough"
base_url = "${stub.url}"
[[models]]
name = "via-key"
[[models.mappings]]
provider = "up"
actual_model = "claude-x"
priority = 1
[[models]]
name = "via-pt"
[[models.mappings]]
provider = "pt"
actual_model = "claude-x"
priority = 1
`,
    );
    try {
      for (const model of ["via-key", "via-pt"]) {
        const res = await fetch(ccmux.url + "/v1/messages", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "anthropic-beta": "oauth-2025-04-20,claude-code-20250219",
            "authorization": "Bearer client-oauth-token",
          },
          body: JSON.stringify({ model, max_tokens: 1, messages: [] }),
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      const [viaKey, viaPt] = stub.requests.map((r) => r.headers);
      assert.equal(viaKey["x-api-key"], PROVIDER_KEY);
      assert.equal(viaKey["authorization"], undefined);
      assert.equal(viaKey["anthropic-beta"], "claude-code-20250219");
      assert.equal(viaPt["authorization"], "Bearer client-oauth-token");
      assert.equal(viaPt["anthropic-beta"], "oauth-2025-04-20,claude-code-20250219");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("a provider's headers cannot change accept-encoding: upstream is asked for identity", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(
      apikeyConfig(stub.url).replace(
        'base_url = "',
        'headers = { "Accept-Encoding" = "gzip", "x-extra" = "1" }\nbase_url = "',
      ),
    );
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json", "accept-encoding": "br" },
        body: JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [] }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(stub.requests[0].headers["accept-encoding"], "identity");
      assert.equal(stub.requests[0].headers["x-extra"], "1");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("strip_specific_beta and strip_beta_options edit anthropic-beta per mapping", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(apikeyConfig(
      stub.url,
      `
[[models]]
name = "some"
[[models.mappings]]
provider = "up"
actual_model = "x"
priority = 1
strip_specific_beta = ["context-1m-2025-08-07", "effort-2025-11-24"]
[[models]]
name = "none"
[[models.mappings]]
provider = "up"
actual_model = "y"
priority = 1
strip_beta_options = true
`,
    ));
    try {
      for (const model of ["some", "none"]) {
        const res = await fetch(ccmux.url + "/v1/messages", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "anthropic-beta": CLAUDE_CODE_BETAS.join(","),
          },
          body: JSON.stringify({ model, max_tokens: 1, messages: [] }),
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      assert.equal(
        stub.requests[0].headers["anthropic-beta"],
        CLAUDE_CODE_BETAS.filter((b) => !/^(context-1m|effort)-/.test(b)).join(","),
      );
      assert.equal(stub.requests[1].headers["anthropic-beta"], undefined);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("streaming", () => {
  test("each event reaches the client before the upstream sends the next", async () => {
    const received: number[] = [];
    let release: (() => void) | undefined;
    let timedOut = false;
    const events = messageEvents(["a", "b", "c"]);
    const stub = await startUpstreamStub({
      events,
      // Event i is only sent after the client has seen event i-1 (or 15 s, which fails).
      gate: (i) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            timedOut = true;
            resolve();
          }, 15_000);
          release = () => {
            clearTimeout(t);
            resolve();
          };
          if (received.length >= i) release();
        }),
    });
    const ccmux = await startCcmux(apikeyConfig(stub.url));
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [], stream: true }),
      });
      const reader = res.body!.getReader();
      let text = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString("utf8");
        const count = text.split("\n\n").length - 1;
        while (received.length < count) received.push(Date.now());
        release?.();
      }
      assert.equal(received.length, events.length);
      assert.equal(timedOut, false, "an event was held back until the next one was sent");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });

  test("a client that disconnects mid-stream aborts the upstream request", async () => {
    const stub = await startUpstreamStub({
      events: messageEvents(Array.from({ length: 200 }, (_, i) => `t${i}`)),
      delayMs: 50,
    });
    const ccmux = await startCcmux(apikeyConfig(stub.url));
    try {
      const ac = new AbortController();
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [], stream: true }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      ac.abort();
      await reader.cancel().catch(() => {});
      const how = await stub.requests[0].finished;
      assert.equal(how, "aborted");
      assert.ok(stub.requests[0].sent.length < 100);
      await ccmux.waitForLog(/client closed/);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
  test("a client that leaves while a streamed answer is silent aborts the upstream request", async () => {
    // The stub sends the first events and then holds: no write of ccmux's would find out that
    // the client is gone, so the disconnect itself must abort the upstream request.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const stub = await startUpstreamStub({
      events: messageEvents(["a", "b"]),
      gate: (i) => (i === 3 ? held : Promise.resolve()),
    });
    const ccmux = await startCcmux(apikeyConfig(stub.url));
    try {
      const ac = new AbortController();
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [], stream: true }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      ac.abort();
      await reader.cancel().catch(() => {});
      assert.equal(await stub.requests[0].finished, "aborted");
      await ccmux.waitForLog(/client closed/);
    } finally {
      release();
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("client disconnect before the answer", () => {
  test("a client that leaves while a non-streamed answer is pending aborts upstream", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    const stub = await startUpstreamStub(async () => {
      arrived();
      await held;
      return { json: messageJson() };
    });
    const ccmux = await startCcmux(apikeyConfig(stub.url));
    try {
      const ac = new AbortController();
      const pending = fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [] }),
        signal: ac.signal,
      }).catch((e) => e);
      await arrival;
      ac.abort();
      await pending;
      assert.equal(await stub.requests[0].finished, "aborted");
      await ccmux.waitForLog(/ 499 .*client closed/);
    } finally {
      release();
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("safety", () => {
  test("Host, Origin, api_key, body size, bad JSON and unknown routes; serving goes on", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(`
[server]
api_key = "${SERVER_KEY}"
max_body_mb = 0.01
allowed_hosts = ["ccmux.internal", "gw.example:8443"]
[[providers]]
name = "up"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "${PROVIDER_KEY}"
base_url = "${stub.url}"
`);
    const body = JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [] });
    const url = ccmux.url + "/v1/messages";
    const good = { "content-type": "application/json", "x-api-key": SERVER_KEY };
    try {
      let r = await raw(url, { method: "POST", headers: { ...good, host: "evil.example" }, body });
      assert.equal(r.status, 403);
      assertAnthropicError(r.body, "permission_error");
      r = await raw(ccmux.url + "/health", { headers: { host: "evil.example:13456" } });
      assert.equal(r.status, 403);
      r = await raw(url, { method: "POST", headers: { ...good, host: "gw.example:9999" }, body });
      assert.equal(r.status, 403);
      for (
        const host of ["localhost:1", "127.0.0.2", "[::1]:99", "ccmux.internal", "gw.example:8443"]
      ) {
        r = await raw(url, { method: "POST", headers: { ...good, host }, body });
        assert.equal(r.status, 200, host);
      }
      r = await raw(url, {
        method: "POST",
        headers: { ...good, origin: "http://localhost:3000" },
        body,
      });
      assert.equal(r.status, 403);
      assertAnthropicError(r.body, "permission_error");

      r = await raw(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      assert.equal(r.status, 401);
      assertAnthropicError(r.body, "authentication_error");
      r = await raw(url, { method: "POST", headers: { ...good, "x-api-key": "wrong" }, body });
      assert.equal(r.status, 401);
      r = await raw(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${SERVER_KEY}` },
        body,
      });
      assert.equal(r.status, 200);

      const big = JSON.stringify({ model: "claude-x", messages: [], pad: "x".repeat(20_000) });
      r = await raw(url, { method: "POST", headers: good, body: big });
      assert.equal(r.status, 413);
      assertAnthropicError(r.body, "request_too_large");
      // Chunked (no content-length): counted while reading.
      const chunked = await fetch(url, {
        method: "POST",
        headers: good,
        body: new ReadableStream({
          start(c) {
            c.enqueue(Buffer.from(big));
            c.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      assert.equal(chunked.status, 413);
      await chunked.arrayBuffer();

      r = await raw(url, { method: "POST", headers: good, body: "{not json" });
      assert.equal(r.status, 400);
      assertAnthropicError(r.body, "invalid_request_error");
      r = await raw(ccmux.url + "/v1/nothing", { headers: good });
      assert.equal(r.status, 404);
      assertAnthropicError(r.body, "not_found_error");

      // Still serving, and /health needs no key.
      r = await raw(ccmux.url + "/health");
      assert.equal(r.status, 200);
      r = await raw(url, { method: "POST", headers: good, body });
      assert.equal(r.status, 200);
      for (const req of stub.requests) assert.equal(req.headers["x-api-key"], PROVIDER_KEY);

      const log = ccmux.logs.join("");
      for (const secret of [SERVER_KEY, PROVIDER_KEY]) {
        assert.equal(log.includes(secret), false, "a key appears in the log");
      }
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});
