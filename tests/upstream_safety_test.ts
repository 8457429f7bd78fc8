// What an upstream answer must not be able to do to the client (docs/SECURITY.md, "Upstream
// answers"): a redirect is never followed (the prompt and the provider's credentials would go to
// another origin) nor passed on, and an error body that echoes the provider's key or token is
// relayed with the secret masked — for Anthropic and OpenAI-compatible upstreams alike.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { messageJson, startUpstreamStub, type UpstreamStub } from "./helpers/upstream_stub.ts";
import { startOpenAIStub } from "./helpers/openai_stub.ts";
import { startCcmux } from "./helpers/ccmux_server.ts";
import type { TokenSource } from "../src/proxy/provider.ts";
import type { TokenRecord } from "../src/auth/types.ts";
import { upstreamFetch } from "../src/runtime/http_client.ts";

const KEY = "provider-secret-key-0123456789";

function provider(name: string, type: "anthropic" | "openai", url: string, extra = ""): string {
  return `[[providers]]
name = "${name}"
provider_type = "${type}"
auth_type = "apikey"
api_key = "${KEY}"
base_url = "${url}"
${extra}
`;
}

function models(...providers: string[]): string {
  let toml = `[[models]]\nname = "m"\n`;
  providers.forEach((p, i) => {
    toml += `[[models.mappings]]\nprovider = "${p}"\nactual_model = "model-${i + 1}"\npriority = ${
      i + 1
    }\n`;
  });
  return toml;
}

function post(url: string, body: Record<string, unknown> = {}) {
  return fetch(url + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "m",
      max_tokens: 10,
      messages: [{ role: "user", content: "the secret prompt" }],
      ...body,
    }),
  });
}

/** A stub that answers every request with a redirect to `to`. */
function redirector(status: number, to: string): Promise<UpstreamStub> {
  return startUpstreamStub({
    status,
    headers: { location: to },
    json: { type: "error", error: { type: "api_error", message: `moved to ${to}` } },
  });
}

describe("upstream redirects are never followed", () => {
  test("the upstream client returns a 307 as it is (this runtime's client)", async () => {
    const elsewhere = await startUpstreamStub();
    const p1 = await redirector(307, `${elsewhere.url}/v1/messages`);
    try {
      const res = await upstreamFetch(`${p1.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": KEY },
        body: '{"model":"m"}',
      });
      assert.equal(res.status, 307);
      assert.equal(res.headers.get("location"), `${elsewhere.url}/v1/messages`);
      await res.arrayBuffer();
      assert.equal(p1.requests.length, 1);
      assert.equal(elsewhere.requests.length, 0);
    } finally {
      await p1.close();
      await elsewhere.close();
    }
  });

  for (const status of [301, 302, 303, 307, 308]) {
    test(`anthropic upstream ${status}: 502, nothing sent elsewhere, no Location passed on`, async () => {
      const elsewhere = await startUpstreamStub({ json: messageJson("from elsewhere") });
      const target = `${elsewhere.url}/v1/messages`;
      const p1 = await redirector(status, target);
      const ccmux = await startCcmux(provider("p1", "anthropic", p1.url) + models("p1"));
      try {
        const res = await post(ccmux.url);
        const text = await res.text();
        assert.equal(res.status, 502);
        assert.equal(res.headers.get("location"), null);
        const body = JSON.parse(text);
        assert.equal(body.type, "error");
        assert.equal(body.error.type, "api_error");
        assert.match(body.error.message, new RegExp(`p1 redirect ${status} not followed`));
        assert.equal(text.includes(elsewhere.url), false);
        assert.equal(p1.requests.length, 1);
        assert.equal(elsewhere.requests.length, 0);
        const line = await ccmux.waitForLog(/POST \/v1\/messages 502/);
        assert.equal(line.includes(elsewhere.url), false);
      } finally {
        await ccmux.close();
        await p1.close();
        await elsewhere.close();
      }
    });
  }

  test("a redirect fails over to the next mapping like any failed upstream", async () => {
    const elsewhere = await startUpstreamStub({ json: messageJson("from elsewhere") });
    const p1 = await redirector(307, `${elsewhere.url}/v1/messages`);
    const p2 = await startUpstreamStub({ json: messageJson("from p2") });
    const ccmux = await startCcmux(
      provider("p1", "anthropic", p1.url) + provider("p2", "anthropic", p2.url) +
        models("p1", "p2"),
    );
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).content[0].text, "from p2");
      assert.equal(elsewhere.requests.length, 0);
      assert.match(
        await ccmux.waitForLog(/POST \/v1\/messages 200/),
        /failover: p1 redirect 307 not followed → p2 200/,
      );
    } finally {
      await ccmux.close();
      await p1.close();
      await p2.close();
      await elsewhere.close();
    }
  });

  test("openai upstream 307: 502, nothing sent elsewhere", async () => {
    const elsewhere = await startOpenAIStub();
    const p1 = await redirector(307, `${elsewhere.baseUrl}/chat/completions`);
    const ccmux = await startCcmux(provider("oai", "openai", `${p1.url}/v1`) + models("oai"));
    try {
      for (const stream of [false, true]) {
        const res = await post(ccmux.url, { stream });
        const text = await res.text();
        assert.equal(res.status, 502, text);
        assert.equal(res.headers.get("location"), null);
        assert.match(JSON.parse(text).error.message, /oai redirect 307 not followed/);
        assert.equal(text.includes(elsewhere.baseUrl), false);
      }
      assert.equal(elsewhere.requests.length, 0);
    } finally {
      await ccmux.close();
      await p1.close();
      await elsewhere.close();
    }
  });
});

describe("upstream error bodies never carry the provider's credentials", () => {
  /** An upstream that rejects the key it was sent, quoting it (as some compatible APIs do). */
  function echoingRejecter(status: number) {
    return startUpstreamStub((req) => {
      const got = req.headers["x-api-key"] ?? req.headers["authorization"] ?? "";
      return {
        status,
        json: {
          type: "error",
          error: { type: "authentication_error", message: `bad key ${got}; key=${got}` },
        },
      };
    });
  }

  test("anthropic apikey: the key in a 401 body is masked, the rest kept", async () => {
    const p1 = await echoingRejecter(401);
    const ccmux = await startCcmux(provider("p1", "anthropic", p1.url) + models("p1"));
    try {
      const res = await post(ccmux.url);
      const text = await res.text();
      assert.equal(res.status, 401);
      assert.equal(p1.requests[0].headers["x-api-key"], KEY);
      assert.equal(text.includes(KEY), false);
      const body = JSON.parse(text);
      assert.equal(body.error.type, "authentication_error");
      assert.equal(body.error.message, "bad key ***; key=***");
      assert.equal(res.headers.get("request-id"), "req_stub_0");
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });

  test("anthropic: a key-shaped secret in a retryable error kept for the client is masked", async () => {
    const p1 = await startUpstreamStub({
      status: 529,
      json: {
        type: "error",
        error: { type: "overloaded_error", message: "overloaded for sk-ant-api03-abcdefghijkl" },
      },
    });
    const ccmux = await startCcmux(provider("p1", "anthropic", p1.url) + models("p1"));
    try {
      const res = await post(ccmux.url);
      const text = await res.text();
      assert.equal(res.status, 529);
      assert.equal(text.includes("abcdefghijkl"), false);
      assert.match(JSON.parse(text).error.message, /overloaded for sk-\*\*\*/);
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });

  test("anthropic oauth: the access token in an error body is masked", async () => {
    const token = "oauth-access-token-secret-987654";
    const tokens: TokenSource = {
      accessToken: () =>
        Promise.resolve({ provider_id: "claude-max", access_token: token } as TokenRecord),
      refreshAfterReject: () =>
        Promise.resolve({ provider_id: "claude-max", access_token: token } as TokenRecord),
    };
    const p1 = await echoingRejecter(403);
    const ccmux = await startCcmux(
      `[[providers]]
name = "p1"
provider_type = "anthropic"
auth_type = "oauth"
oauth_provider = "claude-max"
base_url = "${p1.url}"
` + models("p1"),
      { tokens },
    );
    try {
      const res = await post(ccmux.url);
      const text = await res.text();
      assert.equal(res.status, 403);
      assert.equal(p1.requests[0].headers["authorization"], `Bearer ${token}`);
      assert.equal(text.includes(token), false);
      assert.match(text, /bad key Bearer \*\*\*/);
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });

  test("an error body without a secret is relayed byte for byte", async () => {
    const raw = '{"type":"error", "error":{"type":"invalid_request_error","message":"no"}}';
    const p1 = await startUpstreamStub({
      status: 400,
      body: raw,
      headers: { "content-type": "application/json" },
    });
    const ccmux = await startCcmux(provider("p1", "anthropic", p1.url) + models("p1"));
    try {
      const res = await post(ccmux.url);
      assert.equal(res.status, 400);
      assert.equal(await res.text(), raw);
    } finally {
      await ccmux.close();
      await p1.close();
    }
  });
});
