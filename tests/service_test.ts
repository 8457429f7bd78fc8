// `ccmux service print systemd|launchd`: the shipped docs/deploy/ files are what the command
// prints, and the printed unit passes `systemd-analyze verify` (CI installs systemd's tools).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, ROOT, runCli, tempHome } from "./helpers/cli.ts";

const UNIT = readFileSync(join(ROOT, "docs", "deploy", "ccmux.service"), "utf8");
const PLIST = readFileSync(join(ROOT, "docs", "deploy", "com.ccmux.serve.plist"), "utf8");

function hasSystemdAnalyze(): boolean {
  return spawnSync("systemd-analyze", ["--version"], { stdio: "ignore" }).status === 0;
}

/** A stand-in ccmux executable (verify checks that ExecStart's program exists and runs). */
function fakeBin(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, "ccmux");
  writeFileSync(bin, "#!/bin/sh\nexit 0\n");
  chmodSync(bin, 0o755);
  return bin;
}

/** `systemd-analyze --user verify` on `unit` written to a temp folder as ccmux.service. */
function verify(unit: string, home: string): { status: number | null; output: string } {
  const dir = join(home, "units");
  const runtime = join(home, "runtime");
  mkdirSync(dir, { recursive: true });
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "ccmux.service"), unit);
  const r = spawnSync("systemd-analyze", ["--user", "verify", join(dir, "ccmux.service")], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", HOME: home, XDG_RUNTIME_DIR: runtime },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("ccmux service print", () => {
  test("systemd: docs/deploy/ccmux.service is the printed unit with %h for the home", async () => {
    const { dir, cleanup } = tempHome();
    try {
      const env = baseEnv(dir);
      delete env.CCMUX_HOME; // the default folder, as the shipped unit assumes
      const r = await runCli(
        ["service", "print", "systemd", "--bin", join(dir, ".local", "bin", "ccmux")],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.replaceAll(`${dir}/`, "%h/"), UNIT);
      assert.match(r.stdout, /^Restart=on-failure$/m);
      assert.match(r.stdout, /^ReadWritePaths=.*\.claude-code-mux$/m);
    } finally {
      cleanup();
    }
  });

  test("launchd: docs/deploy/com.ccmux.serve.plist is the printed plist", async () => {
    const { dir, cleanup } = tempHome();
    try {
      const env = baseEnv(dir);
      delete env.CCMUX_HOME;
      const r = await runCli(
        ["service", "print", "launchd", "--bin", join(dir, ".local", "bin", "ccmux")],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.replaceAll(dir, "/Users/YOU"), PLIST);
    } finally {
      cleanup();
    }
  });

  test("real paths: CCMUX_HOME, --config and a token file elsewhere reach the unit", async () => {
    const { dir, cleanup } = tempHome("ccmux service %$ ");
    try {
      const ccmuxHome = join(dir, "state dir");
      const tokens = join(dir, "tokens");
      const config = join(dir, "ccmux.toml");
      writeFileSync(config, `[auth]\ntoken_file = "${join(tokens, "t.json")}"\n`);
      const r = await runCli(
        ["service", "print", "systemd", "--bin", fakeBin(join(dir, "bin")), "--config", config],
        { env: baseEnv(dir, { CCMUX_HOME: ccmuxHome }) },
      );
      assert.equal(r.code, 0, r.stderr);
      const esc = (s: string) => s.replaceAll("%", "%%").replaceAll("$", "$$");
      assert.ok(r.stdout.includes(`ExecStart="${esc(join(dir, "bin", "ccmux"))}" serve --config`));
      assert.ok(r.stdout.includes(`Environment="CCMUX_HOME=${esc(ccmuxHome)}"`));
      assert.ok(r.stdout.includes(`ReadWritePaths=${ccmuxHome.replaceAll("%", "%%")} `));
      assert.ok(r.stdout.includes(` ${tokens.replaceAll("%", "%%")}\n`));
      if (!hasSystemdAnalyze()) return;
      const v = verify(r.stdout, dir);
      assert.equal(v.status, 0, v.output);
    } finally {
      cleanup();
    }
  });

  test(
    "the shipped unit passes systemd-analyze verify",
    { skip: hasSystemdAnalyze() ? false : "systemd-analyze not installed (.ci/run installs it)" },
    () => {
      const { dir, cleanup } = tempHome();
      try {
        fakeBin(join(dir, ".local", "bin"));
        const v = verify(UNIT, dir);
        assert.equal(v.status, 0, v.output);
        // Unknown or misspelt directives are only warnings: none may appear.
        assert.equal(v.output.trim(), "");
      } finally {
        cleanup();
      }
    },
  );

  test("usage errors exit 2", async () => {
    const { dir, cleanup } = tempHome();
    try {
      for (const args of [["service"], ["service", "print"], ["service", "print", "upstart"]]) {
        const r = await runCli(args, { env: baseEnv(dir) });
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /^ccmux: .*\nRun 'ccmux service/);
      }
    } finally {
      cleanup();
    }
  });
});
