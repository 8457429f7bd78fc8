// The CLI as a user meets it: help, version, usage errors and `config check`, as child processes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, ROOT, runCli, tempHome } from "./helpers/cli.ts";

let home: ReturnType<typeof tempHome>;
let env: Record<string, string>;
before(() => {
  home = tempHome();
  env = baseEnv(home.dir);
});
after(() => home.cleanup());

const COMMANDS = ["serve", "login", "token", "status", "logout", "config", "env"];

describe("help and version", () => {
  test("--version prints version and runtime", async () => {
    const r = await runCli(["--version"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ccmux \d+\.\d+\.\d+ \((node|deno) v\d+[^)]*\)\n$/);
  });

  test("--help lists every command on stdout", async () => {
    const r = await runCli(["--help"], { env });
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, "m"));
  });

  test("no command: usage on stderr, exit 2", async () => {
    const r = await runCli([], { env });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /Usage: ccmux/);
  });

  test("every --config flag's help names the same default lookup", async () => {
    const texts = new Set<string>();
    for (
      const args of [
        ...COMMANDS.filter((c) => c !== "config").map((c) => [c]),
        ["config", "check"],
        ["service", "print"],
      ]
    ) {
      const r = await runCli([...args, "--help"], { env });
      assert.equal(r.code, 0, r.stderr);
      const m = /^ {2}--config FILE {3}config file \(default: (.*\n(?: {18}.*\n)*)/m.exec(r.stdout);
      assert.ok(m, `ccmux ${args.join(" ")} --help has no --config line:\n${r.stdout}`);
      texts.add(m[0].split("\n").slice(0, 2).join("\n"));
    }
    assert.deepEqual([...texts], [
      "  --config FILE   config file (default: $CCMUX_CONFIG, else $CCMUX_HOME/config.toml,\n" +
      "                  else ~/.claude-code-mux/config.toml)",
    ]);
  });

  for (const c of COMMANDS) {
    test(`ccmux ${c} --help exits 0 with its usage`, async () => {
      const r = await runCli([c, "--help"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Usage: ccmux ${c}`));
    });
  }
});

describe("usage errors", () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /^ccmux: unknown command 'frobnicate'\n/],
    [["--frobnicate"], /^ccmux: unknown flag '--frobnicate'\n/],
    // One wording for a bad flag, before the command or after it.
    [["-v"], /^ccmux: unknown flag '-v'\n/],
    [["token", "--bogus"], /^ccmux: unknown flag '--bogus'\nRun 'ccmux token --help'/],
    [["status", "-x"], /^ccmux: unknown flag '-x'\nRun 'ccmux status --help'/],
    [
      ["config", "check", "--bogus"],
      /^ccmux: unknown flag '--bogus'\nRun 'ccmux config check --help'/,
    ],
    [["token", "--config"], /^ccmux: missing value for flag '--config'\nRun 'ccmux token/],
    [["serve", "-p"], /^ccmux: missing value for flag '--port'\nRun 'ccmux serve/],
    [["status", "--json=yes"], /^ccmux: flag '--json' takes no value\nRun 'ccmux status/],
    [["config", "frob"], /^ccmux: unknown config command 'frob'/],
    [["serve", "--port", "http"], /^ccmux: invalid value 'http' for --port/],
    [["env", "--shell", "tcsh"], /^ccmux: invalid value 'tcsh' for --shell/],
  ];
  for (const [args, re] of cases) {
    test(`ccmux ${args.join(" ")} → exit 2`, async () => {
      const r = await runCli(args, { env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, "");
    });
  }
});

describe("config check", () => {
  const exampleEnv = () => ({
    ...env,
    ANTHROPIC_API_KEY: "sk-ant-example",
    ZAI_API_KEY: "zai-example",
    OPENROUTER_API_KEY: "or-example",
    CCMUX_API_KEY: "ccmux-example",
  });
  for (const f of ["minimal", "claude-code-mux", "multi-provider"]) {
    test(`${f}.example.toml is valid`, async () => {
      const file = join(ROOT, "config", `${f}.example.toml`);
      const r = await runCli(["config", "check", "--config", file], { env: exampleEnv() });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /: ok, \d+ provider/);
    });
  }

  const broken: [string, string, RegExp][] = [
    [
      "unknown key",
      `[server]\nprot = 1\n`,
      /server\.prot \(line 2\): unknown key \(did you mean 'port'\?\)/,
    ],
    ["bad type", `[server]\nport = "80"\n`, /server\.port \(line 2\): expected an integer/],
    [
      "unset var",
      `[server]\napi_key = "$CCMUX_TEST_UNSET"\n`,
      /server\.api_key \(line 2\): environment variable CCMUX_TEST_UNSET is not set/,
    ],
    ["invalid TOML", `[server\n`, /\(toml\) \(line 1, column 8\)/],
  ];
  for (const [name, text, re] of broken) {
    test(`${name}: exit 1 naming the key and line`, async () => {
      const file = join(home.dir, `${name.replace(/ /g, "_")}.toml`);
      writeFileSync(file, text);
      const r = await runCli(["config", "check", "--config", file], { env });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`invalid config ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
      );
      assert.match(r.stderr, re);
    });
  }

  test("CCMUX_CONFIG is honoured and no file means the embedded default", async () => {
    let r = await runCli(["config", "check"], { env });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /embedded default/);
    const file = join(home.dir, "other.toml");
    writeFileSync(file, `[server]\nport = 1\nbogus = 2\n`);
    r = await runCli(["config", "check"], { env: { ...env, CCMUX_CONFIG: file } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /server\.bogus/);
  });

  test("config show prints TOML with secrets as ***", async () => {
    const file = join(home.dir, "secret.toml");
    writeFileSync(
      file,
      `[server]\napi_key = "$SRV"\n[[providers]]\nname = "p"\nprovider_type = "groq"\napi_key = "$PK"\n`,
    );
    const r = await runCli(["config", "show", "--config", file], {
      env: { ...env, SRV: "srv-secret-value", PK: "pk-secret-value" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /api_key = "\*\*\*"/);
    assert.ok(!r.stdout.includes("secret-value") && !r.stderr.includes("secret-value"));
  });
});

describe("env", () => {
  test("prints ANTHROPIC_BASE_URL, and the api key when set", async () => {
    const file = join(home.dir, "env.toml");
    writeFileSync(file, `[server]\nport = 4567\napi_key = "k'1"\n`);
    let r = await runCli(["env", "--config", file], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `export ANTHROPIC_BASE_URL='http://127.0.0.1:4567'\nexport ANTHROPIC_AUTH_TOKEN='k'\\''1'\n`,
    );
    r = await runCli(["env", "--config", file, "--shell", "fish"], { env });
    assert.match(r.stdout, /^set -gx ANTHROPIC_BASE_URL 'http:\/\/127\.0\.0\.1:4567';$/m);
  });
});
