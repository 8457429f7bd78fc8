// The proxy at its edges: what a client chooses cannot forge log lines or reach upstream in
// another shape (escaped log values, header names like `constructor`, repeated credentials,
// the server key), Expect: 100-continue and half-closed clients on real sockets, the models
// API, request ids on ccmux's own answers, and what the log lines say (usage, retries, debug).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { messageEvents, startUpstreamStub } from "./helpers/upstream_stub.ts";
import { chatChunks, startOpenAIStub } from "./helpers/openai_stub.ts";
import { startCcmux, testConfig } from "./helpers/ccmux_server.ts";
import { startOAuthStub } from "./helpers/oauth_stub.ts";
import { record } from "./helpers/token_files.ts";
import { tempHome } from "./helpers/cli.ts";
import { TokenManager } from "../src/auth/refresh.ts";
import { isLoopbackHost } from "../src/config/mod.ts";
import { isDeno } from "../src/runtime/info.ts";

const SERVER_KEY = "ccmux-server-key-edges-1234";
const CLIENT_KEY = "sk-ant-client-own-key-5678";

function provider(url: string, auth = `auth_type = "apikey"\napi_key = "sk-provider-key-0001"`) {
  return `[[providers]]\nname = "up"\nprovider_type = "anthropic"\n${auth}\nbase_url = "${url}"\n`;
}

const BODY = JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [] });

/**
 * Writes `head` (a request head, CRLF line ends) on a raw socket, then `body` once the server
 * allows it (`waitContinue`) or at once; `halfClose` shuts the write side after the body.
 * Resolves with everything the server sent until it closed the connection.
 */
function rawExchange(
  port: number,
  head: string,
  body: string,
  opts: { waitContinue?: boolean; halfClose?: boolean } = {},
): Promise<{ text: string; bodySent: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let text = "";
    let bodySent = false;
    const sendBody = () => {
      if (bodySent) return;
      bodySent = true;
      sock.write(body);
      if (opts.halfClose) sock.end();
    };
    sock.setEncoding("utf8");
    sock.on("connect", () => {
      sock.write(head);
      if (!opts.waitContinue) sendBody();
    });
    sock.on("data", (d: string) => {
      text += d;
      if (opts.waitContinue && text.startsWith("HTTP/1.1 100 ")) sendBody();
    });
    sock.on("error", reject);
    sock.on("close", () => resolve({ text, bodySent }));
    setTimeout(() => sock.destroy(), 10_000).unref();
  });
}

describe("log lines cannot be forged", () => {
  test("control characters in model names (routed, and unknown: 404) are escaped", async () => {
    const stub = await startUpstreamStub();
    const models = `[router]\ndefault = "big"\n[[models]]\nname = "big"\n[[models.mappings]]\n` +
      `provider = "up"\nactual_model = "real"\npriority = 1\n`;
    const forged = "\n2026-01-01T00:00:00.000Z forged-1 POST /v1/messages 200\r\u001b[31mred" +
      "\u009b\u2028\u2029\u0000";
    for (const format of ["text", "json"]) {
      const ccmux = await startCcmux(
        `[server]\nlog_format = "${format}"\n${models}${provider(stub.url)}`,
      );
      try {
        for (const model of ["claude-x" + forged, "zzz" + forged]) {
          const res = await fetch(ccmux.url + "/v1/messages", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model, max_tokens: 1, messages: [] }),
          });
          await res.arrayBuffer();
          assert.equal(res.status, model.startsWith("zzz") ? 404 : 200);
        }
        await ccmux.waitForLog(/404/);
        const all = ccmux.logs.join("");
        assert.equal(all.split("\n").length - 1, ccmux.logs.length, "one line per entry");
        // deno-lint-ignore no-control-regex
        assert.doesNotMatch(all, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
        const lines = ccmux.logs.filter((l) => l.includes("forged-1"));
        assert.equal(lines.length, 2);
        if (format === "json") {
          assert.equal(JSON.parse(lines[0]).model, "claude-x" + forged);
          assert.ok(JSON.parse(lines[1]).error.includes("zzz" + forged));
        } else {
          for (const line of lines) {
            assert.ok(line.includes("\\n2026-01-01") && line.includes("\\u001b[31mred"), line);
          }
        }
      } finally {
        await ccmux.close();
      }
    }
    await stub.close();
  });
});

describe("forwarded headers", () => {
  test("headers named constructor, __proto__ and toString go upstream as sent", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(provider(stub.url));
    try {
      // A raw request: fetch itself drops a header named __proto__.
      const r = await rawExchange(
        ccmux.port,
        "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
          "Content-Type: application/json\r\nconstructor: x\r\n__proto__: y\r\n" +
          "toString: z\r\nhasOwnProperty: w\r\n" +
          `Content-Length: ${BODY.length}\r\n\r\n`,
        BODY,
      );
      assert.match(r.text, /^HTTP\/1\.1 200 /);
      const seen = stub.requests[0].headers;
      assert.equal(seen["constructor"], "x");
      assert.equal(Object.hasOwn(seen, "__proto__") ? seen["__proto__"] : undefined, "y");
      assert.equal(seen["tostring"], "z");
      assert.equal(seen["hasownproperty"], "w");
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("credentials", () => {
  test("a repeated x-api-key or Authorization is a 400; the server key never goes upstream", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(
      `[server]\napi_key = "${SERVER_KEY}"\n${provider(stub.url, 'auth_type = "passthrough"')}`,
    );
    const post = (pairs: [string, string][]) =>
      rawExchange(
        ccmux.port,
        "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
          "Content-Type: application/json\r\n" +
          pairs.map(([k, v]) => `${k}: ${v}\r\n`).join("") +
          `Content-Length: ${BODY.length}\r\n\r\n`,
        BODY,
      );
    try {
      for (
        const pairs of [
          [["Authorization", `Bearer ${SERVER_KEY}`], ["x-api-key", SERVER_KEY], [
            "x-api-key",
            SERVER_KEY,
          ]],
          [["x-api-key", SERVER_KEY], ["Authorization", `Bearer ${SERVER_KEY}`], [
            "Authorization",
            `Bearer ${SERVER_KEY}`,
          ]],
          [["x-api-key", SERVER_KEY], ["X-Api-Key", CLIENT_KEY]],
        ] as [string, string][][]
      ) {
        const r = await post(pairs);
        assert.match(r.text, /^HTTP\/1\.1 400 /, r.text);
        const json = JSON.parse(r.text.slice(r.text.indexOf("{"), r.text.lastIndexOf("}") + 1));
        assert.equal(json.type, "error");
        assert.equal(json.error.type, "invalid_request_error");
        assert.equal(r.text.includes(SERVER_KEY), false);
      }
      // A longer value that contains the server key is not the client's own credential.
      let r = await post([["x-api-key", SERVER_KEY], ["Authorization", `Bearer ${SERVER_KEY}x`]]);
      assert.match(r.text, /^HTTP\/1\.1 200 /);
      // The client's own key (beside the server key) is forwarded as it is.
      r = await post([["x-api-key", SERVER_KEY], ["Authorization", `Bearer ${CLIENT_KEY}`]]);
      assert.match(r.text, /^HTTP\/1\.1 200 /);
      assert.equal(stub.requests.length, 2);
      for (const seen of stub.requests) {
        for (const v of Object.values(seen.headers)) assert.equal(v.includes(SERVER_KEY), false);
      }
      assert.equal(stub.requests[1].headers["authorization"], `Bearer ${CLIENT_KEY}`);
      assert.equal(ccmux.logs.join("").includes(SERVER_KEY), false);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("Expect: 100-continue", {
  skip: isDeno
    ? "Deno.serve sends 100 Continue before the handler runs (docs/SECURITY.md)"
    : undefined,
}, () => {
  const head = (extra: string, length = BODY.length) =>
    "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
    `Content-Type: application/json\r\nExpect: 100-continue\r\n${extra}` +
    `Content-Length: ${length}\r\n\r\n`;

  test("401, 403 and 413 are answered before 100 Continue; a good request continues", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(
      `[server]\napi_key = "${SERVER_KEY}"\nmax_body_mb = 0.001\n${provider(stub.url)}`,
    );
    try {
      for (
        const [extra, status, length] of [
          ["x-api-key: wrong\r\n", 401, BODY.length],
          [`x-api-key: ${SERVER_KEY}\r\nOrigin: https://evil.example\r\n`, 403, BODY.length],
          [`x-api-key: ${SERVER_KEY}\r\n`, 413, 5000],
        ] as [string, number, number][]
      ) {
        const r = await rawExchange(ccmux.port, head(extra, length), BODY, {
          waitContinue: true,
        });
        assert.match(r.text, new RegExp(`^HTTP/1\\.1 ${status} `), r.text);
        assert.equal(r.bodySent, false, "the client was not asked for its body");
        assert.match(r.text, /x-ccmux-request-id: /i);
      }
      const r = await rawExchange(ccmux.port, head(`x-api-key: ${SERVER_KEY}\r\n`), BODY, {
        waitContinue: true,
      });
      assert.match(r.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
      assert.equal(stub.requests.length, 1);
      await ccmux.waitForLog(/ 413 /);
      await ccmux.waitForLog(/ 401 /);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("half-closed clients", {
  skip: isDeno
    ? "Deno.serve ends a connection whose client shuts its write side (docs/SECURITY.md)"
    : undefined,
}, () => {
  test("a client that shuts its write side after the request still gets the answer", async () => {
    const stub = await startUpstreamStub(async (req) => {
      await new Promise((r) => setTimeout(r, 300));
      return req.json?.stream ? { events: messageEvents() } : {};
    });
    const ccmux = await startCcmux(provider(stub.url));
    try {
      for (const stream of [false, true]) {
        const body = JSON.stringify({ model: "claude-x", max_tokens: 1, messages: [], stream });
        const r = await rawExchange(
          ccmux.port,
          "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            `Content-Length: ${body.length}\r\n\r\n`,
          body,
          { halfClose: true },
        );
        assert.match(r.text, /HTTP\/1\.1 200 OK/, r.text);
        assert.match(r.text, stream ? /event: message_stop/ : /Hello from the stub/);
      }
      assert.equal(ccmux.logs.some((l) => l.includes("client closed")), false);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("the models API", () => {
  test("list and one model in Anthropic's shape; an unknown id is a not_found_error", async () => {
    const stub = await startUpstreamStub();
    const models = Array.from({ length: 24 }, (_, i) => `m${String(i).padStart(2, "0")}`);
    models.push("qwen/qwen3-coder");
    const ccmux = await startCcmux(
      `${provider(stub.url)}models = ${JSON.stringify(models)}\n`,
    );
    try {
      let res = await fetch(ccmux.url + "/v1/models");
      assert.equal(res.status, 200);
      let list = await res.json();
      assert.equal(list.data.length, 20);
      assert.equal(list.has_more, true);
      assert.equal(list.first_id, "m00");
      assert.equal(list.last_id, "m19");
      for (const m of list.data) {
        assert.deepEqual(Object.keys(m).sort(), ["created_at", "display_name", "id", "type"]);
        assert.equal(m.created_at, "1970-01-01T00:00:00Z", "unknown release: the epoch");
      }
      res = await fetch(ccmux.url + "/v1/models?after_id=m19&limit=10");
      list = await res.json();
      assert.deepEqual(list.data.map((m: { id: string }) => m.id), models.slice(20));
      assert.equal(list.last_id, "qwen/qwen3-coder");
      assert.equal(list.has_more, false);
      res = await fetch(ccmux.url + "/v1/models?before_id=m05&limit=2");
      list = await res.json();
      assert.deepEqual(list.data.map((m: { id: string }) => m.id), ["m03", "m04"]);
      assert.equal(list.has_more, true);
      assert.equal((await fetch(ccmux.url + "/v1/models?limit=0")).status, 400);

      res = await fetch(ccmux.url + "/v1/models/M07");
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        type: "model",
        id: "m07",
        display_name: "m07",
        created_at: "1970-01-01T00:00:00Z",
      });
      for (const path of ["/v1/models/qwen/qwen3-coder", "/v1/models/qwen%2Fqwen3-coder"]) {
        res = await fetch(ccmux.url + path);
        assert.equal(res.status, 200, path);
        assert.equal((await res.json()).id, "qwen/qwen3-coder");
      }
      res = await fetch(ccmux.url + "/v1/models/claude-nope");
      assert.equal(res.status, 404);
      const err = await res.json();
      assert.deepEqual(err, {
        type: "error",
        error: { type: "not_found_error", message: "model: claude-nope" },
      });
      assert.ok(res.headers.get("x-ccmux-request-id"));
      // Successful GETs are logged too.
      await ccmux.waitForLog(/GET \/v1\/models 200/);
      await ccmux.waitForLog(/GET \/v1\/models\/claude-nope 404/);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("request ids", () => {
  test("ccmux's own error answers carry the id of their log line", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(`[server]\napi_key = "${SERVER_KEY}"\n${provider(stub.url)}`);
    try {
      const cases: [string, RequestInit, number][] = [
        ["/v1/messages", { method: "POST", body: BODY }, 401],
        ["/nope", { headers: { "x-api-key": SERVER_KEY } }, 404],
        ["/v1/messages", {
          method: "POST",
          body: "{not json",
          headers: { "x-api-key": SERVER_KEY },
        }, 400],
      ];
      for (const [path, init, status] of cases) {
        const res = await fetch(ccmux.url + path, init);
        await res.arrayBuffer();
        assert.equal(res.status, status);
        const id = res.headers.get("x-ccmux-request-id");
        assert.ok(id, `${path} ${status} has an id`);
        await ccmux.waitForLog(new RegExp(` ${id} .* ${status} `));
      }
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});

describe("log contents", () => {
  test("a streamed OpenAI answer logs the provider's usage, not the estimate", async () => {
    const oai = await startOpenAIStub({
      chunks: chatChunks({
        text: ["Hi", " there"],
        usage: { prompt_tokens: 3210, completion_tokens: 16, total_tokens: 3226 },
      }),
    });
    const ccmux = await startCcmux(
      `[[providers]]\nname = "oai"\nprovider_type = "openai"\napi_key = "sk-oai-test-000001"\n` +
        `base_url = "${oai.baseUrl}"\nmodels = ["gpt-x"]\n`,
    );
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "gpt-x",
          max_tokens: 50,
          stream: true,
          messages: [{ role: "user", content: "x".repeat(4000) }],
        }),
      });
      const text = await res.text();
      assert.match(text, /"output_tokens":16/);
      const line = await ccmux.waitForLog(/POST \/v1\/messages 200/);
      assert.match(line, / tokens=3210\/16/);
    } finally {
      await ccmux.close();
      await oai.close();
    }
  });

  test("a 401 → refresh → retry shows in the log line", async () => {
    const oauth = await startOAuthStub();
    const home = tempHome();
    const old = record("claude-max", oauth.seed(), 3600);
    const tokenFile = join(home.dir, "oauth_tokens.json");
    writeFileSync(tokenFile, JSON.stringify({ "claude-max": old }), { mode: 0o600 });
    const stub = await startUpstreamStub((req) =>
      req.headers["authorization"] === `Bearer ${old.access_token}`
        ? { status: 401, json: { type: "error", error: { type: "authentication_error" } } }
        : {}
    );
    const config = testConfig(
      `[[providers]]\nname = "max"\nprovider_type = "anthropic"\nauth_type = "oauth"\n` +
        `oauth_provider = "claude-max"\nbase_url = "${stub.url}"\n` +
        `[auth]\ntoken_file = "${tokenFile}"\n` +
        `[oauth.claude-max]\nkind = "anthropic"\ntoken_url = "${oauth.tokenUrl}"\n`,
      { CCMUX_HOME: home.dir },
    );
    const ccmux = await startCcmux(config, { tokens: new TokenManager({ config }) });
    try {
      const res = await fetch(ccmux.url + "/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: BODY,
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const line = await ccmux.waitForLog(/POST \/v1\/messages 200/);
      assert.match(line, /retry: max 401 → token refreshed → 200/);
      for (const secret of [old.access_token, ...oauth.issued]) {
        assert.equal(ccmux.logs.join("").includes(secret), false);
      }
    } finally {
      await ccmux.close();
      await stub.close();
      await oauth.close();
      home.cleanup();
    }
  });

  test("log_level debug adds header names (never values), candidates and timings", async () => {
    const stub = await startUpstreamStub();
    for (const format of ["text", "json"]) {
      const ccmux = await startCcmux(
        `[server]\nlog_level = "debug"\nlog_format = "${format}"\n${provider(stub.url)}`,
      );
      try {
        const res = await fetch(ccmux.url + "/v1/messages", {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": CLIENT_KEY, "x-app": "cli" },
          body: BODY,
        });
        await res.arrayBuffer();
        const line = await ccmux.waitForLog(/candidates/);
        if (format === "json") {
          const j = JSON.parse(line);
          assert.ok(j.header_names.includes("x-api-key") && j.header_names.includes("x-app"));
          assert.deepEqual(j.candidates, ["up/claude-x"]);
          assert.equal(typeof j.read_ms, "number");
          assert.equal(typeof j.route_ms, "number");
        } else {
          assert.match(line, /candidates=up\/claude-x/);
          assert.match(line, /headers=[^ ]*x-api-key/);
          assert.match(line, / read=\d+ms route_time=\d+ms/);
        }
        assert.equal(line.includes(CLIENT_KEY), false);
        const health = await fetch(ccmux.url + "/health");
        await health.arrayBuffer();
        await ccmux.waitForLog(/\/health/);
      } finally {
        await ccmux.close();
      }
    }
    await stub.close();
  });
});

describe("loopback addresses", () => {
  test("an IPv4-mapped loopback address is loopback; other mapped addresses are not", () => {
    for (
      const h of ["::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "::FFFF:127.1.2.3", "::ffff:7f00:1"]
    ) {
      assert.equal(isLoopbackHost(h), true, h);
    }
    for (const h of ["::ffff:10.0.0.1", "::ffff:0.0.0.0", "0.0.0.0", "::", "::ffff:8000:1"]) {
      assert.equal(isLoopbackHost(h), false, h);
    }
  });

  test("a Host header naming the IPv4-mapped loopback address (as URLs write it) is accepted", async () => {
    const stub = await startUpstreamStub();
    const ccmux = await startCcmux(provider(stub.url));
    try {
      const r = await rawExchange(
        ccmux.port,
        `GET /v1/models HTTP/1.1\r\nHost: [::ffff:7f00:1]:${ccmux.port}\r\nConnection: close\r\n\r\n`,
        "",
      );
      assert.match(r.text, /^HTTP\/1\.1 200 /);
    } finally {
      await ccmux.close();
      await stub.close();
    }
  });
});
