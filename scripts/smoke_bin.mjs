#!/usr/bin/env node
// Smoke test of a built ccmux executable (default dist/ccmux, the Node SEA), as a user would run
// it: from an empty folder, with nothing in the environment but PATH=/usr/bin:/bin and a fresh
// HOME, against stub servers on 127.0.0.1 that speak the real protocols.
//
//   node scripts/smoke_bin.mjs [path/to/ccmux]
//
// Steps: --version; login --paste against a stub authorization server; token (no network);
// token --refresh (rotation); serve --port 0 answering /health and proxying one request to a
// stub upstream with an API key and one with the signed-in account; SIGTERM exits 0.
// Every step runs even when an earlier one failed, so the summary names each broken step.
// Plain .mjs with no dependencies: it must run on a bare node next to the executable.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = resolve(process.argv[2] ?? join(ROOT, "dist", "ccmux"));
const STEP_TIMEOUT_MS = 60_000;

const tmp = mkdtempSync(join(tmpdir(), "ccmux-smoke-"));
const home = join(tmp, "home");
const cwd = join(tmp, "empty");
mkdirSync(home);
mkdirSync(cwd);
const ccmuxHome = join(home, ".claude-code-mux");
const env = { PATH: "/usr/bin:/bin", HOME: home };

// ---------------------------------------------------------------- stub servers

/** Reads a request body as a string. */
function readBody(req) {
  return new Promise((res, rej) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => res(Buffer.concat(parts).toString("utf8")));
    req.on("error", rej);
  });
}

function listen(server) {
  return new Promise((res) => server.listen(0, "127.0.0.1", () => res(server.address().port)));
}

/** An Anthropic Messages upstream that records what reached it. */
const upstreamSeen = [];
const upstream = createServer(async (req, res) => {
  const body = await readBody(req);
  upstreamSeen.push({ method: req.method, url: req.url, headers: req.headers, body });
  if (req.method !== "POST" || !req.url.startsWith("/v1/messages")) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"type":"error","error":{"type":"not_found_error","message":"stub"}}');
    return;
  }
  const model = JSON.parse(body).model;
  res.writeHead(200, { "content-type": "application/json", "request-id": "req_smoke_1" });
  res.end(JSON.stringify({
    id: "msg_smoke",
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text: "pong" }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 1 },
  }));
});

/** An authorization server of kind anthropic (JSON token bodies) that checks PKCE and state. */
const auth = {
  challenge: undefined,
  state: undefined,
  code: "smoke-code-" + randomBytes(6).toString("hex"),
  access: "smoke-access-1",
  refresh: "smoke-refresh-1",
  calls: [],
};
const authServer = createServer(async (req, res) => {
  const body = await readBody(req);
  const reply = (status, obj) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(obj));
  };
  if (req.method !== "POST" || req.url !== "/v1/oauth/token") {
    return reply(404, { error: "not_found" });
  }
  let p;
  try {
    p = JSON.parse(body);
  } catch {
    return reply(400, { error: "invalid_request", error_description: "body is not JSON" });
  }
  auth.calls.push(p.grant_type);
  const bad = (why) => reply(400, { error: "invalid_grant", error_description: why });
  if (p.grant_type === "authorization_code") {
    if (p.code !== auth.code) return bad("wrong code");
    if (p.state !== auth.state) return bad("wrong state");
    if (p.redirect_uri !== authUrl("/oauth/code/callback")) return bad("wrong redirect_uri");
    if (p.client_id !== "smoke-client") return bad("wrong client_id");
    const s256 = createHash("sha256").update(String(p.code_verifier)).digest("base64url");
    if (s256 !== auth.challenge) return bad("PKCE verifier does not match the challenge");
  } else if (p.grant_type === "refresh_token") {
    if (p.refresh_token !== auth.refresh) return bad("Refresh token not found or invalid");
    const n = Number(auth.access.split("-").pop()) + 1;
    auth.access = `smoke-access-${n}`;
    auth.refresh = `smoke-refresh-${n}`;
  } else return bad("unsupported grant_type");
  reply(200, {
    access_token: auth.access,
    refresh_token: auth.refresh,
    expires_in: 28800,
    scope: "user:inference user:profile",
    account: { uuid: "00000000-0000-4000-8000-000000000000", email_address: "smoke@example.com" },
  });
});

let upstreamPort = 0;
let authPort = 0;
const authUrl = (path) => `http://127.0.0.1:${authPort}${path}`;

// ---------------------------------------------------------------- running ccmux

/** Starts `ccmux ...args` from the empty folder with the minimal environment. */
function start(args) {
  const child = spawn(BIN, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
  child.out = "";
  child.errText = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (child.out += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (child.errText += d));
  child.exited = new Promise((res) => child.on("close", (code, signal) => res({ code, signal })));
  child.on("error", (e) => (child.errText += `spawn failed: ${e.message}\n`));
  return child;
}

/** Runs `ccmux ...args` to completion (killed after the step timeout). */
async function run(args, stdin) {
  const child = start(args);
  child.stdin.end(stdin ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  return { code, signal, stdout: child.out, stderr: child.errText };
}

/** Waits until the child's stderr matches `re`; returns the match. */
function waitForStderr(child, re) {
  return new Promise((res, rej) => {
    const check = () => {
      const m = child.errText.match(re);
      if (m) return done(() => res(m));
    };
    const timer = setTimeout(
      () => done(() => rej(new Error(`timed out waiting for ${re} on stderr`))),
      STEP_TIMEOUT_MS,
    );
    const onExit = (code, signal) =>
      done(() =>
        rej(
          new Error(
            `exited (${code ?? signal}) before printing ${re}; stderr: ` +
              child.errText.trim().slice(0, 800),
          ),
        )
      );
    const done = (f) => {
      clearTimeout(timer);
      child.stderr.off("data", check);
      child.off("close", onExit);
      f();
    };
    child.stderr.on("data", check);
    child.on("close", onExit);
    check();
  });
}

/** One HTTP request to ccmux; resolves {status, headers, body}. */
function http(port, method, path, body, headers = {}) {
  return new Promise((res, rej) => {
    const req = request(
      { host: "127.0.0.1", port, method, path, headers, timeout: STEP_TIMEOUT_MS },
      (r) => {
        let text = "";
        r.setEncoding("utf8").on("data", (d) => (text += d));
        r.on("end", () => res({ status: r.statusCode, headers: r.headers, body: text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", rej);
    req.end(body);
  });
}

function expect(cond, what, r) {
  if (cond) return;
  // Only exit code and stderr: stdout may hold a token.
  const detail = r
    ? `\n  exit ${r.code ?? r.signal}; stderr: ${r.stderr.trim().slice(0, 800)}`
    : "";
  throw new Error(what + detail);
}

// ---------------------------------------------------------------- steps

const results = [];
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push([name, "ok"]);
    console.error(`ok    ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push([name, "FAIL"]);
    console.error(`FAIL  ${name}: ${e instanceof Error ? e.message : e}`);
  }
}

function writeConfig() {
  mkdirSync(ccmuxHome, { recursive: true, mode: 0o700 });
  writeFileSync(
    join(ccmuxHome, "config.toml"),
    `# written by scripts/smoke_bin.mjs
[server]
log_format = "json"

[router]
default = "smoke-apikey"

[[providers]]
name = "stub-key"
provider_type = "anthropic"
auth_type = "apikey"
api_key = "sk-smoke-upstream-key"
base_url = "http://127.0.0.1:${upstreamPort}"

[[providers]]
name = "stub-oauth"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "smoke"
base_url = "http://127.0.0.1:${upstreamPort}"

[[models]]
name = "smoke-apikey"
[[models.mappings]]
provider = "stub-key"
actual_model = "upstream-model-key"
priority = 1

[[models]]
name = "smoke-oauth"
[[models.mappings]]
provider = "stub-oauth"
actual_model = "upstream-model-oauth"
priority = 1

[oauth.smoke]
kind = "anthropic"
client_id = "smoke-client"
authorize_url = "${authUrl("/oauth/authorize")}"
token_url = "${authUrl("/v1/oauth/token")}"
paste_redirect_uri = "${authUrl("/oauth/code/callback")}"
`,
  );
}

async function main() {
  upstreamPort = await listen(upstream);
  authPort = await listen(authServer);
  writeConfig();
  let loggedIn = false;

  await step("--version", async () => {
    const r = await run(["--version"]);
    expect(r.code === 0, "--version did not exit 0", r);
    // No runtime chatter (e.g. Node's "single executable applications" experimental warning).
    expect(r.stderr === "", `--version wrote to stderr: ${r.stderr.trim()}`);
    expect(
      /^ccmux \d+\.\d+\.\d+ \((node|deno) v\d+/.test(r.stdout),
      `unexpected: ${r.stdout.trim()}`,
    );
  });

  await step("config check", async () => {
    const r = await run(["config", "check"]);
    expect(r.code === 0, "config check rejected the smoke config", r);
  });

  await step("login --paste (stub authorization server)", async () => {
    const child = start(["login", "smoke", "--paste"]);
    try {
      const m = await waitForStderr(child, /^(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+)$/m);
      const url = new URL(m[1]);
      const q = url.searchParams;
      expect(q.get("code_challenge_method") === "S256", "authorize URL lacks S256");
      expect(q.get("redirect_uri") === authUrl("/oauth/code/callback"), "not the paste redirect");
      expect(q.get("client_id") === "smoke-client", "wrong client_id in the authorize URL");
      auth.challenge = q.get("code_challenge");
      auth.state = q.get("state");
      expect(auth.state && auth.challenge && auth.state !== auth.challenge, "state/challenge");
      child.stdin.end(`${auth.code}#${auth.state}\n`);
      const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
      const { code, signal } = await child.exited;
      clearTimeout(timer);
      const r = { code, signal, stderr: child.errText };
      expect(code === 0, "login did not exit 0", r);
      expect(auth.calls.includes("authorization_code"), "token endpoint never called");
      const file = join(ccmuxHome, "oauth_tokens.json");
      expect((statSync(file).mode & 0o777) === 0o600, "token file is not 0600");
      loggedIn = true;
    } finally {
      child.kill("SIGKILL");
    }
  });

  await step("token (fresh, no network)", async () => {
    const before = auth.calls.length;
    const r = await run(["token"]);
    expect(r.code === 0, "token did not exit 0", r);
    expect(r.stdout === `${auth.access}\n`, "stdout is not exactly the issued token and \\n", r);
    expect(auth.calls.length === before, "a fresh token caused a token endpoint call");
  });

  await step("token --refresh (rotates)", async () => {
    const old = auth.access;
    const r = await run(["token", "--refresh"]);
    expect(r.code === 0, "token --refresh did not exit 0", r);
    expect(auth.access !== old && r.stdout === `${auth.access}\n`, "not the refreshed token", r);
    const again = await run(["token"]);
    expect(again.stdout === `${auth.access}\n`, "refreshed token was not stored", again);
  });

  await step("serve --port 0: /health, proxy with API key and with account, SIGTERM", async () => {
    const child = start(["serve", "--port", "0"]);
    try {
      const m = await waitForStderr(child, /ccmux listening on http:\/\/127\.0\.0\.1:(\d+)/);
      const port = Number(m[1]);
      const health = await http(port, "GET", "/health");
      expect(health.status === 200, `/health answered ${health.status}`);
      expect(JSON.parse(health.body).status === "ok", `/health body ${health.body}`);

      const ask = (model) =>
        http(
          port,
          "POST",
          "/v1/messages?beta=true",
          JSON.stringify({ model, max_tokens: 16, messages: [{ role: "user", content: "ping" }] }),
          {
            "content-type": "application/json",
            "anthropic-version": "2023-06-01",
            "x-api-key": "client-key-must-not-go-upstream",
          },
        );
      const n0 = upstreamSeen.length;
      const r1 = await ask("smoke-apikey");
      expect(r1.status === 200, `proxied request answered ${r1.status}: ${r1.body.slice(0, 300)}`);
      expect(JSON.parse(r1.body).content[0].text === "pong", "response body not passed through");
      const seen = upstreamSeen[n0];
      expect(seen?.url === "/v1/messages?beta=true", `upstream path ${seen?.url}`);
      expect(seen.headers["x-api-key"] === "sk-smoke-upstream-key", "provider key not sent");
      expect(JSON.parse(seen.body).model === "upstream-model-key", "model not mapped");

      if (loggedIn) {
        const r2 = await ask("smoke-oauth");
        expect(r2.status === 200, `oauth request answered ${r2.status}: ${r2.body.slice(0, 300)}`);
        const s2 = upstreamSeen[upstreamSeen.length - 1];
        expect(s2.headers.authorization === `Bearer ${auth.access}`, "account token not sent");
        expect(s2.headers["x-api-key"] === undefined, "x-api-key sent with an OAuth token");
        expect(/oauth-2025-04-20/.test(s2.headers["anthropic-beta"] ?? ""), "oauth beta missing");
      }

      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
      const { code, signal } = await child.exited;
      clearTimeout(timer);
      expect(code === 0, "serve did not exit 0 on SIGTERM", {
        code,
        signal,
        stderr: child.errText,
      });
    } finally {
      child.kill("SIGKILL");
    }
  });

  await step("nothing written to the working folder", () => {
    const left = readdirSync(cwd);
    expect(left.length === 0, `left in cwd: ${left.join(", ")}`);
  });
}

try {
  await main();
} finally {
  upstream.close();
  authServer.close();
  rmSync(tmp, { recursive: true, force: true });
}
const failed = results.filter(([, s]) => s !== "ok").map(([n]) => n);
console.error(
  failed.length === 0
    ? `smoke: all ${results.length} steps passed on ${BIN}`
    : `smoke: ${failed.length} of ${results.length} steps failed: ${failed.join("; ")}`,
);
process.exit(failed.length === 0 ? 0 : 1);
