// The safety guard cannot be side-stepped by spelling a path differently: every path but
// /health needs the server key and refuses browser Origins.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startCcmux, type TestCcmux } from "./helpers/ccmux_server.ts";
import { startUpstreamStub } from "./helpers/upstream_stub.ts";

type Stub = Awaited<ReturnType<typeof startUpstreamStub>>;

const BODY = JSON.stringify({
  model: "claude-sonnet-4-5",
  max_tokens: 10,
  messages: [{ role: "user", content: "hi" }],
});

// Spellings of /v1/messages and /v1/models that a router may decode or normalise.
const DISGUISED = [
  "/%761/messages",
  "/v1/%6dessages",
  "/%76%31/models",
  "//v1/messages",
  "/v1/messages/",
];

describe("guard", () => {
  let stub: Stub;
  let withKey: TestCcmux;
  let noKey: TestCcmux;
  before(async () => {
    stub = await startUpstreamStub({ json: { id: "msg_1", type: "message", content: [] } });
    const provider = `[[providers]]\nname = "up"\nprovider_type = "anthropic"\n` +
      `api_key = "provider-key"\nbase_url = "${stub.url}"\n`;
    withKey = await startCcmux(`[server]\napi_key = "server-key"\n${provider}`);
    noKey = await startCcmux(provider);
  });
  after(async () => {
    await withKey.close();
    await noKey.close();
    await stub.close();
  });

  for (const path of DISGUISED) {
    test(`${path} without the server key → 401`, async () => {
      const res = await fetch(`${withKey.url}${path}`, {
        method: path.includes("models") ? "GET" : "POST",
        headers: { "content-type": "application/json" },
        body: path.includes("models") ? undefined : BODY,
      });
      const json = await res.json();
      assert.equal(res.status, 401);
      assert.equal(json.error.type, "authentication_error");
    });

    test(`${path} with a browser Origin → 403`, async () => {
      const res = await fetch(`${noKey.url}${path}`, {
        method: "POST",
        headers: { "content-type": "text/plain", origin: "https://evil.example" },
        body: BODY,
      });
      await res.body?.cancel();
      assert.equal(res.status, 403);
    });
  }

  test("nothing disguised reached the upstream; /health stays public", async () => {
    assert.equal(stub.requests.length, 0);
    const res = await fetch(`${withKey.url}/health`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, "ok");
  });
});
