// `npm run install:cli` (README's "Put ccmux on your PATH"): from a clone of this private
// package it builds the bundle and links a `ccmux` command into npm's global bin folder (a temp
// prefix here), and `ccmux service print` run through that link names a command that runs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { ROOT, tempHome } from "./helpers/cli.ts";

const hasNpm = spawnSync("npm", ["--version"], { stdio: "ignore" }).status === 0;
const nodeBin = () => {
  const r = spawnSync("node", ["-p", "process.execPath"], { encoding: "utf8" });
  return r.stdout.trim();
};

describe("npm run install:cli", () => {
  test(
    "puts a working ccmux on PATH",
    { skip: hasNpm ? false : "npm is not installed", timeout: 180_000 },
    () => {
      const h = tempHome();
      try {
        const prefix = join(h.dir, "prefix");
        const env = {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: h.dir,
          CCMUX_HOME: join(h.dir, "ccmux-home"),
          npm_config_prefix: prefix,
          npm_config_cache: join(h.dir, "npm-cache"),
          npm_config_update_notifier: "false",
        };
        const install = spawnSync("npm", ["run", "-s", "install:cli"], {
          cwd: ROOT,
          env,
          encoding: "utf8",
        });
        assert.equal(install.status, 0, `${install.stdout}\n${install.stderr}`);
        const bin = process.platform === "win32" ? prefix : join(prefix, "bin");
        const onPath = { ...env, PATH: `${bin}${delimiter}${dirname(nodeBin())}` };
        const version = spawnSync("ccmux", ["--version"], { env: onPath, encoding: "utf8" });
        assert.equal(version.status, 0, version.stderr);
        assert.match(version.stdout, /^ccmux \d+\.\d+\.\d+ \(node v/);

        // The service runs what the link points at, not a guessed path.
        const unit = spawnSync("ccmux", ["service", "print", "systemd"], {
          env: onPath,
          encoding: "utf8",
        });
        assert.equal(unit.status, 0, unit.stderr);
        const exec = /^ExecStart=(.*) serve$/m.exec(unit.stdout);
        assert.ok(exec, unit.stdout);
        const words = exec[1].split(" ");
        assert.equal(words[1], realpathSync(join(ROOT, "dist", "ccmux.mjs")));
        for (const w of words) assert.ok(existsSync(w), `${w} does not exist`);
        const run = spawnSync(words[0], [...words.slice(1), "--version"], {
          env: onPath,
          encoding: "utf8",
        });
        assert.equal(run.stdout, version.stdout);
      } finally {
        h.cleanup();
      }
    },
  );
});
