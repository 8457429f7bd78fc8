// Messages a user reads when something fails: a refresh the server answers with a bare 5xx
// says its status once; `service print` from a source checkout refuses instead of writing a
// unit whose ExecStart does not exist.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";
import { startOAuthStub } from "./helpers/oauth_stub.ts";
import { assertNoSecrets, record, writeSetup } from "./helpers/token_files.ts";
import process from "node:process";

describe("refresh failures", () => {
  for (
    const [what, body, re] of [
      ["a bare 500", "oops", /: HTTP 500\n/],
      [
        "a 503 with an OAuth error",
        { error: "temporarily_unavailable" },
        /: temporarily_unavailable \(HTTP 503\)\n/,
      ],
    ] as const
  ) {
    test(`${what}: the status is named once`, async () => {
      const stub = await startOAuthStub();
      const h = tempHome();
      try {
        const rec = record("acct", stub.seed(), -60);
        writeSetup(h.dir, stub.tokenUrl, { acct: rec });
        stub.setFailure({ status: what === "a bare 500" ? 500 : 503, body });
        const r = await runCli(["token", "acct"], { env: baseEnv(h.dir) });
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /^ccmux: refresh failed at /);
        assert.match(r.stderr, re);
        assert.equal(r.stderr.match(/HTTP 50\d/g)?.length, 1, r.stderr);
        assertNoSecrets(r.stderr, [rec.access_token, rec.refresh_token]);
      } finally {
        await stub.close();
        h.cleanup();
      }
    });
  }
});

describe("ccmux service print from a source checkout", () => {
  test(
    "without --bin it refuses (exit 1) and says how to get a real executable",
    { skip: process.env.CCMUX_TEST_BIN ? "runs an installed binary, not the sources" : false },
    async () => {
      const h = tempHome();
      try {
        for (const kind of ["systemd", "launchd"]) {
          const r = await runCli(["service", "print", kind], { env: baseEnv(h.dir) });
          assert.equal(r.code, 1, r.stderr);
          assert.equal(r.stdout, "");
          assert.match(r.stderr, /^ccmux: this ccmux runs from its source files.*--bin PATH\n$/);
          assert.match(r.stderr, /npm run install:cli/);
        }
      } finally {
        h.cleanup();
      }
    },
  );
});
