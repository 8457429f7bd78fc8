// `ccmux login` without an ID: the obvious account is taken (claude-max when the config names
// none, else the one it names); with several, a terminal is asked and anything else gets a
// usage error listing them. The prompt is driven in-process with fake terminal streams.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, runCli, tempHome } from "./helpers/cli.ts";
import { main } from "../src/cli/main.ts";
import type { Io } from "../src/cli/io.ts";

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function home() {
  const h = tempHome();
  cleanups.push(h.cleanup);
  return h.dir;
}

/** Two accounts whose sign-in URLs tell them apart; nothing listens at port 9. */
const TWO =
  `[oauth.one]\nkind = "anthropic"\nauthorize_url = "http://127.0.0.1:9/authorize-one"\n` +
  `[oauth.two]\nkind = "anthropic"\nauthorize_url = "http://127.0.0.1:9/authorize-two"\n`;

function terminal(dir: string, typed: string): Io & { errText: () => string } {
  let err = "";
  return {
    out: () => assert.fail("login printed to stdout"),
    err: (t) => void (err += t),
    env: baseEnv(dir),
    stdin: () =>
      (async function* () {
        yield typed;
      })(),
    isTty: true,
    stdinTty: true,
    errText: () => err,
  };
}

describe("ccmux login without ID", () => {
  test("no OAuth account in the config: signs in to claude-max", async () => {
    const r = await runCli(["login", "--no-browser", "--timeout", "1"], { env: baseEnv(home()) });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^Signing in to account 'claude-max'\.$/m);
    assert.match(r.stderr, /^https:\/\/claude\.ai\/oauth\/authorize\?/m);
    assert.match(r.stderr, /timed out/);
  });

  test("several accounts on a terminal: lists them and signs in to the one picked", async () => {
    const dir = home();
    writeFileSync(join(dir, "config.toml"), TWO);
    const io = terminal(dir, "2\n");
    const code = await main(["login", "--no-browser", "--timeout", "1"], io);
    assert.equal(code, 1, io.errText()); // nobody completes the sign-in: it times out
    assert.ok(
      io.errText().includes("  1) one\n  2) two\nSign in to which one? [1-2] "),
      io.errText(),
    );
    assert.match(io.errText(), /^http:\/\/127\.0\.0\.1:9\/authorize-two\?/m);
    assert.doesNotMatch(io.errText(), /authorize-one/);
  });

  test("several accounts on a terminal: an answer naming none is a usage error", async () => {
    const dir = home();
    writeFileSync(join(dir, "config.toml"), TWO);
    const io = terminal(dir, "three\n");
    const code = await main(["login", "--no-browser", "--timeout", "1"], io);
    assert.equal(code, 2);
    assert.match(io.errText(), /ccmux: no account 'three': the config names one, two\b/);
  });
});
