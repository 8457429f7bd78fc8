#!/usr/bin/env node
// Builds ccmux for Node.
//
//   node scripts/build.mjs        → dist/ccmux.mjs (+ dist/chunks/): the npm "bin", an ESM bundle
//                                   with every dependency inside; each command is its own chunk so
//                                   `ccmux token` never parses the proxy or the OAuth library.
//   node scripts/build.mjs --sea  → dist/ccmux: a Node single-executable application (one CJS
//                                   bundle → SEA blob → postject into a copy of this `node`).
//
// Plain .mjs (not .ts) so it runs on a bare `node` before anything is installed but esbuild.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { builtinModules, createRequire } from "node:module";
import * as esbuild from "esbuild";

const requireHere = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
// The fuse postject flips so node runs the injected blob (fixed by Node for every SEA).
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: "node",
  target: "node20",
  // Not minified: measured no startup difference for `ccmux token` (esm 79 vs 78 ms, best of
  // 80 runs, node -e 0 = 58 ms), and readable stack traces (CCMUX_DEBUG=1) help bug reports.
  minify: false,
  // Keep the licence notices of bundled packages.
  legalComments: "eof",
  logLevel: "warning",
};

/** Size of a file in a human unit. */
function size(path) {
  const n = statSync(path).size;
  return n > 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

// In an ES module, each `import ... from "node:x"` builds an ESM facade of the built-in that
// copies every export, which runs every lazy getter: `node:process`'s facade creates
// process.stdout, stdin and stderr (loading node:stream), `node:crypto`'s loads Web Crypto.
// Measured: facades were ~17% of `ccmux token`'s start. The bundle reaches built-ins through
// the banner's require() instead, one small module per built-in whose named exports are read
// only when used (esbuild drops the unused `@__PURE__` ones). Named exports are listed from
// this Node at build time; a name it lacks stays undefined, as it would be at run time.
const builtinsViaRequire = {
  name: "builtins-via-require",
  setup(build) {
    const names = new Set(builtinModules);
    build.onResolve({ filter: /^[a-z_/0-9:]+$/ }, (args) => {
      const bare = args.path.replace(/^node:/, "");
      if (!names.has(bare) && !args.path.startsWith("node:")) return undefined;
      return { path: args.path, namespace: "builtin" };
    });
    build.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => {
      const mod = requireHere(args.path);
      const exported = Object.keys(mod).filter((n) =>
        n !== "default" && /^[A-Za-z_$][\w$]*$/.test(n)
      );
      const lines = [
        // The banner's require under another name: a require() call esbuild would bundle.
        `const m = __ccmuxRequire(${JSON.stringify(args.path)});`,
        "export default m;",
        ...exported.map((n) => `export const ${n} = /* @__PURE__ */ (() => m.${n})();`),
      ];
      return { contents: lines.join("\n"), loader: "js" };
    });
  },
};

async function buildEsm() {
  rmSync(join(DIST, "ccmux.mjs"), { force: true });
  rmSync(join(DIST, "chunks"), { recursive: true, force: true });
  const result = await esbuild.build({
    ...common,
    entryPoints: { ccmux: "main.ts" },
    outdir: DIST,
    format: "esm",
    splitting: true,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    metafile: true,
    plugins: [builtinsViaRequire],
    // Some bundled npm code may call require() for built-ins; ESM has no require of its own.
    // The hashbang of main.ts stays first; esbuild puts this banner after it.
    banner: {
      // One require shared by every chunk (creating one per chunk resolves real paths each
      // time); bundled code requires only built-ins, so which file it belongs to is moot.
      js: 'import{createRequire as __ccmuxCreateRequire}from"node:module";' +
        'const require=globalThis[Symbol.for("ccmux.require")]??=' +
        "__ccmuxCreateRequire(import.meta.url),__ccmuxRequire=require;",
    },
  });
  const out = join(DIST, "ccmux.mjs");
  chmodSync(out, 0o755);
  writeFileSync(join(DIST, "meta.json"), JSON.stringify(result.metafile));
  checkTokenPath(result.metafile);
  const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".mjs"));
  console.error(`built ${out} (${size(out)}; ${files.length} files with chunks)`);
}

// `ccmux token` runs in loops inside other tools: what it loads before printing a fresh token
// must not include the proxy, hono or the OAuth library (refresh imports oauth4webapi lazily).
const TOKEN_PATH_FORBIDDEN = [
  /^src\/proxy\//,
  /^src\/translate\//,
  /^src\/auth\/(pkce_flow|login|callback_server)\.ts$/,
  /node_modules\/(oauth4webapi|hono|@hono)\//,
];

/** Fails the build when the static import closure of the token command pulls forbidden code. */
function checkTokenPath(meta) {
  const outputs = meta.outputs;
  const entry = Object.keys(outputs).find((o) => outputs[o].entryPoint === "src/cli/token.ts");
  if (!entry) throw new Error("no chunk for src/cli/token.ts: is its import still lazy?");
  const seen = new Set();
  const visit = (out) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const i of outputs[out].imports) {
      if (i.kind === "import-statement" && !i.external) visit(i.path);
    }
  };
  visit(entry);
  visit(Object.keys(outputs).find((o) => outputs[o].entryPoint === "main.ts"));
  const bad = [...seen].flatMap((o) => Object.keys(outputs[o].inputs))
    .filter((input) => TOKEN_PATH_FORBIDDEN.some((re) => re.test(input)));
  if (bad.length > 0) {
    throw new Error(`ccmux token would load ${[...new Set(bad)].join(", ")} before printing`);
  }
}

async function buildSea() {
  const work = join(DIST, "sea");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const bundle = join(work, "ccmux.cjs");
  // A SEA's main script is CommonJS whose require() loads built-ins only: everything else must
  // be inside this one file, so no splitting; the lazy import()s of commands become in-file
  // initialisers that still run only when called.
  await esbuild.build({
    ...common,
    entryPoints: ["main.ts"],
    outfile: bundle,
    format: "cjs",
    // In CJS esbuild leaves import.meta empty; give bundled code a real file URL instead.
    define: { "import.meta.url": "__ccmuxImportMetaUrl" },
    banner: {
      js: 'const __ccmuxImportMetaUrl=require("node:url").pathToFileURL(__filename).href;',
    },
  });

  const configPath = join(work, "sea-config.json");
  const blob = join(work, "ccmux.blob");
  writeFileSync(
    configPath,
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: process.env.CCMUX_SEA_CODE_CACHE !== "0",
    }),
  );
  execFileSync(process.execPath, ["--experimental-sea-config", configPath], {
    stdio: ["ignore", "ignore", "inherit"],
  });

  const exe = join(DIST, process.platform === "win32" ? "ccmux.exe" : "ccmux");
  rmSync(exe, { force: true });
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  // Strip the copy of node BEFORE injecting: strip after postject rewrites the section layout
  // and the result segfaults at start (measured with node 20.20 / binutils strip).
  if (process.env.CCMUX_SEA_STRIP !== "0") strip(exe);
  const postjectArgs = [exe, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE];
  if (process.platform === "darwin") postjectArgs.push("--macho-segment-name", "NODE_SEA");
  if (process.platform === "darwin") {
    // The copied node carries Apple's signature, which the injection invalidates.
    execFileSync("codesign", ["--remove-signature", exe], { stdio: "inherit" });
  }
  // postject (LIEF) prints dozens of harmless "Can't find string offset" warnings on Linux:
  // show its output only when it fails.
  try {
    execFileSync(join(ROOT, "node_modules", ".bin", "postject"), postjectArgs, {
      stdio: "pipe",
      encoding: "utf8",
    });
  } catch (e) {
    process.stderr.write(`${e.stdout ?? ""}${e.stderr ?? ""}`);
    throw e;
  }
  if (process.platform === "darwin") {
    execFileSync("codesign", ["--sign", "-", exe], { stdio: "inherit" });
  }
  check(exe);
  console.error(`built ${exe} (${size(exe)}; bundle ${size(bundle)})`);
}

/** Strips symbols (node ships with debug info: ~99 MB → ~86 MB) when `strip` exists (Linux). */
function strip(exe) {
  if (process.platform !== "linux") return;
  try {
    execFileSync("strip", ["--version"], { stdio: "ignore" });
  } catch {
    console.error("strip not found: dist/ccmux left unstripped");
    return;
  }
  execFileSync("strip", [exe], { stdio: "inherit" });
}

/** Fails the build when the executable does not run as ccmux (e.g. a strip that broke the blob). */
function check(exe) {
  const out = execFileSync(exe, ["--version"], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin" },
  });
  if (!out.startsWith("ccmux ")) throw new Error(`${exe} --version printed ${JSON.stringify(out)}`);
}

if (process.argv.includes("--sea")) await buildSea();
else await buildEsm();
