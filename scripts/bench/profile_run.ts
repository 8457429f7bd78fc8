// CPU profiles of ccmux under the c=16 large-request load: `node --cpu-prof` on an esbuild
// bundle of main.ts built here like dist/ccmux.mjs but unminified and with a source map (so
// frames name src/ files and lines whatever dist's build options are), for pass-through
// (apikey, oauth), OpenAI Chat Completions translation and the Codex (Responses) translation.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { SourceMap } from "./sourcemap.ts";
import process from "node:process";
import { type Driver, runLoad } from "./load.ts";
import { summarise } from "./profile.ts";
import { freePort, startProc, stopProc } from "./procs.ts";
import { ccmuxNodeSpec, type Paths, type Variant } from "./proxies.ts";
import type { Results } from "./results.ts";

interface Opts {
  root: string;
  tmp: string;
  paths: Paths;
  driver: Driver;
  files: Map<string, { body: string; headers: string; path: string }>;
  durationS: number;
  /** Only the profiles of these proxies (ccmux-VARIANT), when set. */
  only?: Set<string> | null;
  log: (s: string) => void;
}

/** Bundles main.ts (unminified, external source map) into `dir`; returns the bundle's path. */
async function buildProfileBundle(root: string, dir: string): Promise<string> {
  const outfile = join(dir, "ccmux.mjs");
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(root, "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: false,
    // No keepNames: dist does not use it, and its __name() calls would show up as a cost.
    keepNames: false,
    sourcemap: "external",
    logLevel: "error",
    banner: {
      js: 'import{createRequire as __ccmuxCreateRequire}from"node:module";' +
        "const require=__ccmuxCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

export async function runProfiles(o: Opts): Promise<Results["profiles"]> {
  const out: Results["profiles"] = [];
  let bundle: string;
  try {
    bundle = await buildProfileBundle(o.root, join(o.tmp, "profile-build"));
  } catch (e) {
    return [{ name: "ccmux", load: "-", error: `bundle for profiling: ${(e as Error).message}` }];
  }
  const mapped = {
    url: pathToFileURL(bundle).href,
    map: SourceMap.parse(readFileSync(`${bundle}.map`, "utf8")),
    code: readFileSync(bundle, "utf8").split("\n"),
  };
  const runs: [Variant, "large" | "small"][] = [
    ["apikey", "large"],
    ["openai", "large"],
    ["codex", "large"],
    ["apikey", "small"],
    ["oauth", "small"],
  ];
  for (const [variant, size] of runs) {
    const name = `ccmux-${variant}`;
    if (o.only && !o.only.has(name)) continue;
    const load = `${size} request, JSON then stream, c=16, ${o.durationS} s each`;
    const dir = join(o.tmp, `profile-${variant}-${size}`);
    const port = await freePort();
    const spec = ccmuxNodeSpec(o.paths, `profile-${variant}-${size}`, variant, port);
    spec.args = [
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      "--cpu-prof-interval=250",
      bundle,
      ...spec.args.slice(1),
    ];
    spec.cmd = process.execPath;
    try {
      const p = await startProc(spec);
      for (
        const [k, dur] of [
          [`${size}-json`, 1],
          [`${size}-stream`, 1],
          [`${size}-json`, o.durationS],
          [`${size}-stream`, o.durationS],
        ] as const
      ) {
        const f = o.files.get(k)!;
        await runLoad(o.driver, {
          url: `http://127.0.0.1:${port}${f.path}`,
          bodyFile: f.body,
          headersFile: f.headers,
          conns: 16,
          durationS: dur,
        });
      }
      await stopProc(p);
      const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error("no .cpuprofile written (did serve exit cleanly on SIGTERM?)");
      out.push({ name, load, ...summarise(join(dir, file), o.root, mapped) });
      o.log(`profile ${name}: ${join(dir, file)}`);
    } catch (e) {
      out.push({ name, load, error: (e as Error).message });
      o.log(`profile ${name} failed: ${(e as Error).message}`);
    }
  }
  return out;
}
