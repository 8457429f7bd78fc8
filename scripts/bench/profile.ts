// Summary of a V8 .cpuprofile: self and inclusive time per function, and self time per
// source area (ccmux's own files, hono, node internals, GC, ...).
import { readFileSync } from "node:fs";
import type { SourceMap } from "./sourcemap.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface FnCost {
  fn: string;
  where: string;
  selfPct: number;
  totalPct: number;
}

export interface ProfileSummary {
  file: string;
  busySamples: number;
  idlePct: number;
  top: FnCost[];
  topInclusive: FnCost[];
  areas: { area: string; selfPct: number }[];
  /** Lines of the bundle (mapped to their source) with the most self samples. */
  hotLines: HotLine[];
  /**
   * ccmux source files by inclusive time: samples with a frame of that file on the stack (and
   * whatever it called, builtins included), each sample counted once per file.
   */
  files: { file: string; totalPct: number }[];
}

function shortUrl(url: string, root: string): string {
  let u = url.replace(/^file:\/\//, "");
  if (u.startsWith(root)) u = u.slice(root.length + 1);
  return u.replace(/^.*node_modules\//, "node_modules/");
}

/** A bundle and its source map: frames in the bundle are reported at their source location. */
export interface Mapped {
  url: string;
  map: SourceMap;
  /** The bundle's lines, to quote the hottest ones. */
  code: string[];
}

export interface HotLine {
  fn: string;
  where: string;
  code: string;
  pct: number;
}

/** Where a frame's code comes from: [file, 1-based line]. */
function locate(c: CallFrame, root: string, mapped?: Mapped): [string, number] {
  if (mapped && c.url === mapped.url && c.lineNumber >= 0) {
    const o = mapped.map.lookup(c.lineNumber, c.columnNumber);
    if (o) {
      const src = o.source.replace(/^(\.\.\/)+/, "");
      const m = /(node_modules\/.*|src\/.*|main\.ts)$/.exec(src);
      return [m ? m[1] : src, o.line];
    }
  }
  return [shortUrl(c.url, root), c.lineNumber + 1];
}

/** The source area a function belongs to, for the "where the time goes" table. */
export function areaOf(name: string, u: string): string {
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "V8/native (program)";
  if (name === "(idle)") return "idle";
  if (!u) {
    // Native bindings without a script: name the ones that matter for a proxy.
    if (/^(writev|writeBuffer|writeUtf8String|writeLatin1String|shutdown)$/.test(name)) {
      return "native: socket writes";
    }
    if (/^(openFileHandle|open|close|read|fstat|stat|lstat|readFileUtf8)$/.test(name)) {
      return "native: file system";
    }
    return "V8 builtins / native";
  }
  let m = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (m) return `npm: ${m[1]}`;
  m = /^node:internal\/([^/]+(?:\/[^/]+)?)/.exec(u);
  if (m) return `node: ${m[1]}`;
  if (u.startsWith("node:")) return `node: ${u.slice(5)}`;
  m = /^src\/(.+)\.ts$/.exec(u);
  if (m) return `ccmux: src/${m[1]}.ts`;
  return u;
}

export function summarise(
  file: string,
  root: string,
  mapped?: Mapped,
  topN = 15,
): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const keys = new Map<number, string>();
  const files = new Map<number, string>();
  for (const n of prof.nodes) {
    const c = n.callFrame;
    const [u, line] = locate(c, root, mapped);
    files.set(n.id, u);
    keys.set(n.id, `${c.functionName || "(anonymous)"}\t${u ? `${u}:${line}` : ""}`);
  }
  const key = (n: ProfileNode) => keys.get(n.id)!;
  let total = 0, idle = 0;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const areas = new Map<string, number>();
  const fileIncl = new Map<string, number>();
  const filesOnStack = new Map<string, number>();
  // Depth-first with the set of keys on the stack: a sample counts once per distinct function
  // on its stack (recursion does not double count inclusive time).
  const rootNode = prof.nodes[0];
  const stack: string[] = [];
  const onStack = new Map<string, number>();
  const visit = (n: ProfileNode) => {
    const k = key(n);
    const f = files.get(n.id)!;
    const srcFile = f.startsWith("src/") ? f : undefined;
    stack.push(k);
    onStack.set(k, (onStack.get(k) ?? 0) + 1);
    if (srcFile) filesOnStack.set(srcFile, (filesOnStack.get(srcFile) ?? 0) + 1);
    const hits = n.hitCount ?? 0;
    if (hits) {
      total += hits;
      if (n.callFrame.functionName === "(idle)") idle += hits;
      else {
        self.set(k, (self.get(k) ?? 0) + hits);
        for (const sk of onStack.keys()) incl.set(sk, (incl.get(sk) ?? 0) + hits);
        for (const sf of filesOnStack.keys()) fileIncl.set(sf, (fileIncl.get(sf) ?? 0) + hits);
        const a = areaOf(n.callFrame.functionName, files.get(n.id)!);
        areas.set(a, (areas.get(a) ?? 0) + hits);
      }
    }
    for (const c of n.children ?? []) visit(byId.get(c)!);
    stack.pop();
    const left = onStack.get(k)! - 1;
    if (left) onStack.set(k, left);
    else onStack.delete(k);
    if (srcFile) {
      const fl = filesOnStack.get(srcFile)! - 1;
      if (fl) filesOnStack.set(srcFile, fl);
      else filesOnStack.delete(srcFile);
    }
  };
  visit(rootNode);
  const lineHits = new Map<string, { fn: string; where: string; code: string; hits: number }>();
  if (mapped) {
    for (const n of prof.nodes) {
      if (n.callFrame.url !== mapped.url || !n.positionTicks) continue;
      for (const t of n.positionTicks) {
        const o = mapped.map.lookup(t.line - 1, 0);
        const code = mapped.code[t.line - 1];
        if (!o || code === undefined) continue;
        const where = `${
          locate({ ...n.callFrame, lineNumber: t.line - 1, columnNumber: 0 }, root, mapped)[0]
        }:${o.line}`;
        const hk = `${n.callFrame.functionName}\t${where}`;
        const e = lineHits.get(hk) ??
          {
            fn: n.callFrame.functionName || "(anonymous)",
            where,
            code: code.trim().slice(0, 100),
            hits: 0,
          };
        e.hits += t.ticks;
        lineHits.set(hk, e);
      }
    }
  }
  const busy = total - idle;
  const pct = (x: number) => (busy ? (100 * x) / busy : 0);
  const mk = (k: string): FnCost => {
    const [fn, where] = k.split("\t");
    return { fn, where, selfPct: pct(self.get(k) ?? 0), totalPct: pct(incl.get(k) ?? 0) };
  };
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([k]) => mk(k));
  const skip = new Set(["(root)", "(program)", "(garbage collector)"]);
  const topInclusive = [...incl.entries()]
    .filter(([k]) => !skip.has(k.split("\t")[0]) && k.includes("src/"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([k]) => mk(k));
  return {
    file,
    busySamples: busy,
    idlePct: total ? (100 * idle) / total : 0,
    top,
    topInclusive,
    hotLines: [...lineHits.values()].sort((a, b) => b.hits - a.hits).slice(0, 12).map((e) => ({
      fn: e.fn,
      where: e.where,
      code: e.code,
      pct: pct(e.hits),
    })),
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, n]) => ({
      area,
      selfPct: pct(n),
    })),
    files: [...fileIncl.entries()].sort((a, b) => b[1] - a[1]).map(([file, n]) => ({
      file,
      totalPct: pct(n),
    })),
  };
}
