// docs/BENCHMARKS.md from a run's results: every number here comes from results.json.
import { writeFileSync } from "node:fs";
import type { Cell, Results } from "./results.ts";
import { median } from "./timing.ts";

type Key = { proxy: string; size: string; stream: boolean; conns: number };
const k = (c: Key) => `${c.proxy}|${c.size}|${c.stream}|${c.conns}`;

export interface Agg {
  n: number;
  rps: number;
  p50: number;
  p99: number;
  cpu: number;
  errors: number;
  xFloor: number;
  xCcr: number;
  /** CPU per request over ccmux-openai's (the Chat Completions translation), same round. */
  xChat: number;
  addedP50: number;
  rpsVsDirect: number;
}

/** Medians over rounds; ratios are taken within a round, then their median. */
export function aggregate(cells: Cell[]): Map<string, Agg> {
  const byKey = new Map<string, Cell[]>();
  const byRound = new Map<string, Cell>();
  for (const c of cells) {
    (byKey.get(k(c)) ?? byKey.set(k(c), []).get(k(c))!).push(c);
    byRound.set(`${k(c)}|${c.round}`, c);
  }
  const peer = (c: Cell, proxy: string) => byRound.get(`${k({ ...c, proxy })}|${c.round}`);
  const out = new Map<string, Agg>();
  for (const [key, cs] of byKey) {
    const ratio = (proxy: string, f: (a: Cell, b: Cell) => number) =>
      median(cs.map((c) => {
        const p = peer(c, proxy);
        return p ? f(c, p) : NaN;
      }));
    out.set(key, {
      n: cs.length,
      rps: median(cs.map((c) => c.rps)),
      p50: median(cs.map((c) => c.p50Ms)),
      p99: median(cs.map((c) => c.p99Ms)),
      cpu: median(cs.map((c) => c.cpuUsPerReq)),
      errors: cs.reduce((a, c) => a + c.errors, 0),
      xFloor: ratio("node-floor", (a, b) => a.cpuUsPerReq / b.cpuUsPerReq),
      xCcr: ratio("ccr", (a, b) => a.cpuUsPerReq / b.cpuUsPerReq),
      xChat: ratio("ccmux-openai", (a, b) => a.cpuUsPerReq / b.cpuUsPerReq),
      addedP50: ratio("direct", (a, b) => a.p50Ms - b.p50Ms),
      rpsVsDirect: ratio("direct", (a, b) => a.rps / b.rps),
    });
  }
  return out;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "–");
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const ratioStr = (
  x: number,
) => (Number.isFinite(x) && x > 0
  ? (x >= 0.1 ? `${x.toFixed(2)}×` : `1/${(1 / x).toFixed(0)}`)
  : "–");

/** The translating rows: Chat Completions (openai), Responses via codex (OAuth) and API key. */
const TRANSLATING = ["ccmux-openai", "ccmux-codex", "ccmux-responses"];

export interface Target {
  target: string;
  measured: string;
  pass: boolean | null;
}

export function targets(r: Results, a: Map<string, Agg>): Target[] {
  const t: Target[] = [];
  const get = (proxy: string, size: string, stream: boolean, conns: number) =>
    a.get(k({ proxy, size, stream, conns }));
  const kinds = [["small", false], ["small", true], ["large", false], ["large", true]] as const;
  const label = (size: string, stream: boolean) => `${size} ${stream ? "stream" : "JSON"}`;
  for (const proxy of ["ccmux-apikey", "ccmux-oauth"]) {
    for (const [size, stream] of kinds) {
      const g = get(proxy, size, stream, 16);
      t.push({
        target: `${proxy} ${label(size, stream)} c=16: CPU/req ≤ 2× node floor`,
        measured: g ? `${f0(g.cpu)} µs = ${ratioStr(g.xFloor)}` : "not measured",
        pass: g && Number.isFinite(g.xFloor) ? g.xFloor <= 2 : null,
      });
      const lim = size === "large" ? 1 / 20 : 1 / 5;
      t.push({
        target: `${proxy} ${label(size, stream)} c=16: CPU/req ≤ ${
          size === "large" ? "1/20" : "1/5"
        } of ccr`,
        measured: g ? `${ratioStr(g.xCcr)} of ccr` : "not measured",
        pass: g && Number.isFinite(g.xCcr) ? g.xCcr <= lim : null,
      });
    }
  }
  for (const proxy of TRANSLATING) {
    for (const [size, stream] of kinds) {
      const g = get(proxy, size, stream, 16);
      // The Responses rows also say how they compare with the Chat path in the same round.
      const chat = proxy !== "ccmux-openai" && g && Number.isFinite(g.xChat)
        ? ` (${ratioStr(g.xChat)} of the Chat path's)`
        : "";
      t.push({
        target: `${proxy} ${label(size, stream)} c=16: CPU/req ≤ 3× node floor`,
        measured: g ? `${f0(g.cpu)} µs = ${ratioStr(g.xFloor)}${chat}` : "not measured",
        pass: g && Number.isFinite(g.xFloor) ? g.xFloor <= 3 : null,
      });
    }
  }
  for (const proxy of ["ccmux-apikey", "ccmux-oauth", ...TRANSLATING]) {
    for (const stream of [false, true]) {
      const g = get(proxy, "small", stream, 1);
      t.push({
        target: `${proxy} small ${stream ? "stream" : "JSON"} c=1: added p50 ≤ 0.5 ms`,
        measured: g ? `+${f3(g.addedP50)} ms` : "not measured",
        pass: g && Number.isFinite(g.addedP50) ? g.addedP50 <= 0.5 : null,
      });
    }
  }
  for (const proxy of ["ccmux-apikey", "ccmux-oauth", ...TRANSLATING]) {
    const m = r.mem[proxy];
    t.push({
      target: `${proxy} RSS idle ≤ 60 MiB`,
      measured: m ? `${f1(m.idle)} MiB` : "not measured",
      pass: m ? m.idle <= 60 : null,
    });
    t.push({
      target: `${proxy} RSS peak under c=16 load ≤ 100 MiB`,
      measured: m ? `${f1(m.peak)} MiB` : "not measured",
      pass: m && Number.isFinite(m.peak) ? m.peak <= 100 : null,
    });
  }
  const st = (n: string) => r.startup.find((s) => s.name === n);
  const ccr = st("ccr");
  for (const n of ["ccmux-node", "ccmux-deno"]) {
    const s = st(n);
    t.push({
      target: `${n} startup to first /health ≤ 1/3 of ccr's${
        n === "ccmux-deno" ? " (reported)" : ""
      }`,
      measured: s && ccr
        ? `${f0(s.medianMs)} ms vs ccr ${f0(ccr.medianMs)} ms = ${
          ratioStr(s.medianMs / ccr.medianMs)
        }`
        : "not measured",
      pass: s && ccr && Number.isFinite(s.medianMs / ccr.medianMs)
        ? s.medianMs <= ccr.medianMs / 3
        : null,
    });
  }
  const node0 = r.token.find((x) => x.name === "node -e 0");
  for (const tk of r.token.filter((x) => x.name.startsWith("ccmux token"))) {
    const sea = tk.name.includes("single executable");
    t.push({
      target: `${tk.name} ≤ 1.3× \`node -e 0\`${sea ? " (reported)" : ""}`,
      measured: node0 && !tk.error
        ? `${f1(tk.medianMs)} ms vs ${f1(node0.medianMs)} ms = ${
          ratioStr(tk.medianMs / node0.medianMs)
        }`
        : `error: ${tk.error ?? "?"}`,
      pass: node0 && !tk.error ? tk.medianMs <= 1.3 * node0.medianMs : sea ? null : false,
    });
  }
  for (const s of r.streaming.filter((x) => x.proxy.startsWith("ccmux"))) {
    t.push({
      target: `${s.proxy}: each paced event arrives before the next is sent`,
      measured: s.error
        ? `error: ${s.error}`
        : `${s.events} events, max lag ${f1(s.maxLagMs)} ms (gap ${s.gapMs} ms)`,
      pass: s.pass,
    });
  }
  return t;
}

function cellTables(r: Results, a: Map<string, Agg>): string[] {
  const lines: string[] = [];
  for (const size of ["small", "large"]) {
    for (const stream of [false, true]) {
      lines.push(
        `### ${
          size === "small" ? "Small (~400 B)" : "Large (~50 KB, Claude Code shape)"
        } request, ${stream ? "streaming (SSE)" : "JSON"}`,
        "",
      );
      lines.push(
        "| proxy | c=1 req/s | c=1 p50 ms | c=1 p99 ms | c=1 added p50 ms | c=1 CPU µs/req | c=16 req/s | c=16 req/s × direct | c=16 p50 ms | c=16 p99 ms | c=16 CPU µs/req | c=16 CPU × floor | c=16 CPU × ccr | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      );
      for (const proxy of r.proxies) {
        const g1 = a.get(k({ proxy, size, stream, conns: 1 }));
        const g16 = a.get(k({ proxy, size, stream, conns: 16 }));
        if (!g1 && !g16) continue;
        const errs = (g1?.errors ?? 0) + (g16?.errors ?? 0);
        lines.push(
          `| ${proxy} | ${f0(g1?.rps ?? NaN)} | ${f3(g1?.p50 ?? NaN)} | ${f3(g1?.p99 ?? NaN)} | ${
            proxy === "direct" ? "–" : f3(g1?.addedP50 ?? NaN)
          } | ${f0(g1?.cpu ?? NaN)} | ${f0(g16?.rps ?? NaN)} | ${
            proxy === "direct" ? "–" : f2(g16?.rpsVsDirect ?? NaN)
          } | ${f3(g16?.p50 ?? NaN)} | ${f3(g16?.p99 ?? NaN)} | ${f0(g16?.cpu ?? NaN)} | ${
            ratioStr(g16?.xFloor ?? NaN)
          } | ${ratioStr(g16?.xCcr ?? NaN)} | ${errs} |`,
        );
      }
      lines.push("");
    }
  }
  return lines;
}

function analysis(r: Results, a: Map<string, Agg>): string[] {
  const out: string[] = [];
  const get = (proxy: string, size: string, stream: boolean) =>
    a.get(k({ proxy, size, stream, conns: 16 }));
  for (const [size, stream] of [["small", false], ["large", false], ["large", true]] as const) {
    const c = get("ccmux-apikey", size, stream), fl = get("node-floor", size, stream);
    const o = get("ccmux-openai", size, stream);
    if (c && fl) {
      out.push(
        `- ${size} ${stream ? "stream" : "JSON"}, c=16: ccmux pass-through spends ${
          f0(c.cpu)
        } µs of CPU per request, ` +
          `${f0(c.cpu - fl.cpu)} µs more than the bare Node pass-through (${f0(fl.cpu)} µs)` +
          (o
            ? `; OpenAI translation ${f0(o.cpu)} µs (${f0(o.cpu - fl.cpu)} µs above the floor).`
            : "."),
      );
    }
  }
  // The Responses translation (codex with its OAuth account, openai-responses with a key):
  // every cell against the floor and against the Chat path, in the same round.
  const kinds = [["small", false], ["small", true], ["large", false], ["large", true]] as const;
  for (const proxy of ["ccmux-codex", "ccmux-responses"]) {
    const parts = kinds.flatMap(([size, stream]) => {
      const g = get(proxy, size, stream);
      return g
        ? [
          `${size} ${stream ? "stream" : "JSON"} ${f0(g.cpu)} µs (${ratioStr(g.xFloor)} floor, ${
            ratioStr(g.xChat)
          } Chat)`,
        ]
        : [];
    });
    if (!parts.length) continue;
    out.push(
      `- ${proxy}, Responses translation, CPU per request at c=16 (× node floor, × the Chat ` +
        `path ccmux-openai, same round): ${parts.join("; ")}.`,
    );
    for (const size of ["small", "large"]) {
      const j = get(proxy, size, false), st = get(proxy, size, true);
      if (j && st) {
        out.push(
          `  ${size} request: a JSON client (the upstream stream collected into one message) ` +
            `costs ${f0(j.cpu)} µs against ${f0(st.cpu)} µs for a streaming one (${
              ratioStr(j.cpu / st.cpu)
            }).`,
        );
      }
    }
  }
  // The pass-through's foreign-thinking byte search runs on every Anthropic-bound request; the
  // large request (no thinking block, so no marker) is searched to its end and never parsed.
  const passProfile = r.profiles.find((p) =>
    p.name === "ccmux-apikey" && p.load.startsWith("large")
  );
  const ft = passProfile?.files?.find((x) => x.file === "src/proxy/foreign_thinking.ts");
  const lj = get("ccmux-apikey", "large", false), ls = get("ccmux-apikey", "large", true);
  if (passProfile?.files) {
    const pct = ft?.totalPct ?? 0;
    const cpu = lj && ls ? (lj.cpu + ls.cpu) / 2 : NaN;
    out.push(
      "- Foreign-thinking byte search of the pass-through (src/proxy/foreign_thinking.ts, on every " +
        "request to an Anthropic provider; the ~50 KB request has no marker, so all of it is " +
        `searched and nothing is parsed): ${f1(pct)}% of busy samples in the ccmux-apikey ` +
        `large-request profile` +
        (Number.isFinite(cpu)
          ? `, roughly ${f0((pct / 100) * cpu)} µs of its ${f0(cpu)} µs per request.`
          : "."),
    );
  }
  // Quota and usage bookkeeping (src/quota/) runs on every answer: reading the rate-limit
  // headers, one usage record, the policy chain's verdicts.
  if (passProfile?.files) {
    const files = passProfile.files.filter((x) => x.file.startsWith("src/quota/"));
    const pct = files.reduce((a, x) => a + x.totalPct, 0);
    const cpu = lj && ls ? (lj.cpu + ls.cpu) / 2 : NaN;
    out.push(
      "- Quota and usage bookkeeping (src/quota/: rate-limit headers, the usage record, the " +
        `policy chain) on the pass-through: ${f1(pct)}% of busy samples in the ccmux-apikey ` +
        "large-request profile (inclusive, summed over its files)" +
        (Number.isFinite(cpu)
          ? `, roughly ${f0((pct / 100) * cpu)} µs of its ${f0(cpu)} µs per request.`
          : "."),
    );
  }
  // Upstream keep-alive: new connections the stub accepted per request during the loads.
  const reopened: string[] = [];
  for (const proxy of r.proxies.filter((x) => x !== "direct")) {
    for (const [size, stream] of kinds) {
      for (const conns of [1, 16]) {
        const cs = r.cells.filter((c) =>
          c.proxy === proxy && c.size === size && c.stream === stream && c.conns === conns
        );
        const v = median(cs.map((c) => c.upstreamConnsPerReq ?? NaN));
        if (Number.isFinite(v) && v >= 0.01) {
          reopened.push(`${proxy} ${size} ${stream ? "stream" : "JSON"} c=${conns} ${f2(v)}`);
        }
      }
    }
  }
  if (r.cells.some((c) => Number.isFinite(c.upstreamConnsPerReq ?? NaN))) {
    out.push(
      "- New upstream connections per request under load (connections the stub accepted during " +
        "a cell, per completed request; 0 means keep-alive held): " +
        (reopened.length
          ? `≥ 0.01 in ${reopened.join("; ")}; every other cell below 0.01.`
          : "below 0.01 in every cell."),
    );
  }
  // At c=1 a request's wall time is 1/rps; what the proxy adds beyond direct is either its CPU
  // or waiting (timers, extra event-loop turns): the split shows which one to chase.
  for (const stream of [false, true]) {
    const dir = a.get(k({ proxy: "direct", size: "small", stream, conns: 1 }));
    if (!dir) continue;
    const parts: string[] = [];
    for (
      const proxy of [
        "node-floor",
        "ccmux-apikey",
        "ccmux-oauth",
        "ccmux-openai",
        "ccmux-codex",
        "ccmux-responses",
        "ccmux-deno",
      ]
    ) {
      const g = a.get(k({ proxy, size: "small", stream, conns: 1 }));
      if (!g) continue;
      const added = 1e6 / g.rps - 1e6 / dir.rps;
      parts.push(
        `${proxy} adds ${f0(added)} µs, of which ${f0(g.cpu)} µs CPU and ${
          f0(added - g.cpu)
        } µs waiting`,
      );
    }
    if (parts.length) {
      out.push(
        `- Small ${stream ? "stream" : "JSON"} at c=1, wall time per request beyond direct's ` +
          `${f0(1e6 / dir.rps)} µs: ${
            parts.join("; ")
          }. (CPU counts all of the process's threads, ` +
          "so the split is approximate.)",
      );
    }
  }
  for (const [size, stream] of [["small", false], ["large", true]] as const) {
    const n = get("ccmux-apikey", size, stream), d = get("ccmux-deno", size, stream);
    if (n && d) {
      out.push(
        `- The same source on Deno (${size} ${stream ? "stream" : "JSON"}, c=16): ${
          f0(d.cpu)
        } µs ` +
          `of CPU per request against ${f0(n.cpu)} µs on Node (${ratioStr(d.cpu / n.cpu)}).`,
      );
    }
  }
  const buckets: [string, RegExp][] = [
    [
      "fetch (undici), web streams, AbortSignal, transferables",
      /deps\/undici|webstreams|js_transferable|abort_controller|event_target|domexception/,
    ],
    ["hono + @hono/node-server", /^npm: (hono|@hono\/)/],
    ["ccmux src/ (self, incl. builtins such as JSON.parse called there)", /^ccmux: /],
    [
      "Node http server, sockets, streams, events",
      /_http_|stream_base|net$|streams\/|events|buffer/,
    ],
    ["native socket writes (writev)", /^native: socket/],
    ["native file system calls", /^native: file/],
    ["other V8 builtins / native", /^V8/],
    ["GC", /^GC$/],
  ];
  for (const p of r.profiles) {
    if (!p.areas) continue;
    // Each area counts in the first bucket that matches it.
    const sums = buckets.map(([name]) => ({ name, pct: 0 }));
    for (const x of p.areas) {
      const i = buckets.findIndex(([, re]) => re.test(x.area));
      if (i >= 0) sums[i].pct += x.selfPct;
    }
    const rest = 100 - sums.reduce((s, x) => s + x.pct, 0);
    out.push(
      `- ${p.name}, grouped self time: ` +
        sums.map((x) => `${x.name} ${f1(x.pct)}%`).join("; ") + `; other ${f1(rest)}%.`,
    );
    const hot = (p.hotLines ?? [])[0];
    if (hot) {
      out.push(
        `  Its hottest line is \`${hot.code.replace(/`/g, "'")}\` (${hot.where}, ${
          f1(hot.pct)
        }% of busy samples).`,
      );
    }
  }
  for (const p of r.profiles) {
    if (!p.areas) continue;
    const top = p.areas.filter((x) => x.selfPct >= 2).slice(0, 10)
      .map((x) => `${x.area} ${f1(x.selfPct)}%`).join(", ");
    out.push(`- Profile of ${p.name} (${p.load}): self time by area: ${top}.`);
    const src = (p.topInclusive ?? []).slice(0, 6).map((x) =>
      `\`${x.fn}\` (${x.where}) ${f1(x.totalPct)}%`
    ).join(", ");
    if (src) out.push(`  ccmux functions with the most inclusive time: ${src}.`);
  }
  return out;
}

export function renderReport(r: Results): string {
  const a = aggregate(r.cells);
  const t = targets(r, a);
  const L: string[] = [];
  const m = r.machine;
  L.push(
    "# Benchmarks",
    "",
    "<!-- Generated by `npm run bench` (scripts/bench/run.ts). Do not edit by hand: rerun it. -->",
    "",
    `Run of ${r.date} (${
      r.quick ? "**quick mode** (BENCH_QUICK=1: one short round, numbers are rough)" : "full run"
    }; ` +
      `${r.rounds} round(s) × ${r.durationS} s per cell; whole run ${
        f0(r.elapsedS ?? NaN)
      } s), commit \`${m.commit}\`.`,
    "",
    "## Machine",
    "",
    `- CPU: ${m.cpu}, ${m.cores} cores; ${m.memGiB} GiB RAM; ${m.kernel}`,
    `- 1-minute load average at start ${f2(m.loadStart ?? NaN)}, at end ${f2(m.loadEnd ?? NaN)} ` +
      "(anything above ~0.2 before the run means other work shared the cores).",
    `- Node ${m.node}; ${m.deno}`,
    `- Load driver: ${m.driver}`,
    "",
    "## Method",
    "",
    "- A stub upstream (scripts/bench/stub_upstream.mjs, its own process) answers Anthropic `/v1/messages` " +
      "and OpenAI `/v1/chat/completions` with fixed small JSON or SSE responses (9 Anthropic events / 7 OpenAI chunks, each its own write), and 401 " +
      "when a request carries no credential. OpenAI Responses `POST /backend-api/codex/responses` (the Codex " +
      "backend's path) and `POST /v1/responses` (the public API's) always answer a Codex-like SSE stream: " +
      "11 events, each its own write (`response.created`, `response.in_progress`, output item and content part " +
      "added, three `response.output_text.delta`, the done events, `response.completed` with usage; no `[DONE]`; " +
      "the response objects do not echo the request's instructions and tools). Before answering, the stub " +
      "parses the body and checks what the real backends check: for codex the bearer token and " +
      "`ChatGPT-Account-ID` of the bench's account, `stream: true`, `store: false`, non-empty `instructions`, " +
      'and none of `max_output_tokens`, `temperature`, `top_p` and the like (else 400 `{"detail": …}` as the ' +
      "backend answers); for both, an `input` array whose `function_call_output` items answer earlier " +
      "`function_call`s, call ids within 64 characters and valid tool names (else a 400 " +
      "`invalid_request_error`). A broken translation therefore shows up as errors.",
    "- Proxies, each its own process started by the script, all forwarding to that stub: **direct** (the load " +
      "driver talks to the stub: the baseline), **node-floor** (a ~40-line Node `http` pass-through with a " +
      "keep-alive agent and piping, scripts/bench/node_floor.mjs), **ccmux-apikey** / **ccmux-oauth** (pass-through " +
      "to an Anthropic provider with an API key / a stored OAuth token far from expiry; `node dist/ccmux.mjs serve`), " +
      "**ccmux-openai** (OpenAI Chat Completions provider: translation both ways), **ccmux-codex** " +
      '(`provider_type = "codex"` with an OAuth account: the token file holds an openai-kind `chatgpt` ' +
      "account far from expiry with the `account_id` sent as `ChatGPT-Account-ID`; Responses translation both ways, " +
      'model `gpt-5.5`), **ccmux-responses** (`provider_type = "openai-responses"` with an API key; the same ' +
      "translation to the public API's rules), **ccmux-deno** (apikey, `deno run -A main.ts serve`), " +
      "and **ccr** (claude-code-router 1.0.73 installed into .bench-tmp, provider with its `Anthropic` transformer " +
      "only, which is its bypass path, and log level `warn`: its cheapest configuration; its default `debug` " +
      "level writes every request body to its log).",
    "- Requests: small (~400 B, 3 headers) and large (~50 KB shaped like Claude Code's: three system blocks, two " +
      "with cache_control; 20 tools with draft 2020-12 JSON Schemas; five turns with tool_use/tool_result; thinking, " +
      "context_management, output_config, metadata; `?beta=true`, an anthropic-beta list and Claude Code's " +
      "headers); `stream` false and true; concurrency 1 and 16; keep-alive connections. The Responses providers " +
      "only stream upstream (the Codex backend refuses anything else), so a `stream: false` client is answered " +
      "by ccmux collecting that stream into one message. The pass-through rows (ccmux-apikey, ccmux-oauth, ccmux-deno) " +
      "include the foreign-thinking byte search every Anthropic-bound request now gets " +
      "(src/proxy/foreign_thinking.ts): the large request goes through it (it has no foreign signature, so its " +
      "~50 KB are searched to the end and sent byte for byte); no separate row is needed, and its share of the " +
      "profile is given below.",
    "- Interleaved rounds: every cell runs each proxy in turn (rotated each round), after a warm-up; figures are " +
      "medians over rounds, and ratios are computed within a round (same cell, same round) and then their median.",
    "- CPU per request: the proxy process's utime+stime (/proc/PID/stat, all threads) over the load, divided by " +
      "the completed requests. RSS from /proc/PID/status: idle after start before any request, peak (VmHWM) " +
      "after the whole grid. Errors: socket errors, timeouts and non-2xx answers reported by the driver. " +
      "Every proxy and request kind is checked once before loading (status 200, the stub's answer in the right shape).",
    "- Startup: spawn to the first 200 from `/health` (polled every 5 ms), median of several starts after one " +
      "unmeasured start. `ccmux token`: spawn to exit with a fresh token in the token file, against `node -e 0`, " +
      "interleaved, median.",
    "- Streaming: the stub sends five text deltas 150 ms apart, each carrying its send time; the client records " +
      "when each arrives. Passing means each arrived before the next was sent.",
    "- Profile: `node --cpu-prof` (250 µs sampling) on an unminified esbuild bundle of main.ts with a source map " +
      "(frames mapped back to src/ files and lines), at c=16, JSON then streaming: pass-through, OpenAI Chat translation " +
      "and Codex (Responses) translation on the large request, pass-through (API key and OAuth) on the small one.",
    "",
  );
  if (Object.keys(r.unavailable).length) {
    L.push("Not measured in this run:", "");
    for (const [n, why] of Object.entries(r.unavailable)) L.push(`- ${n}: ${why.split("\n")[0]}`);
    L.push("");
  }
  L.push("## Targets", "", "| target | measured | result |", "|---|---|---|");
  for (const x of t) {
    L.push(
      `| ${x.target} | ${x.measured} | ${x.pass === null ? "n/a" : x.pass ? "pass" : "**FAIL**"} |`,
    );
  }
  const passed = t.filter((x) => x.pass === true).length,
    failed = t.filter((x) => x.pass === false).length;
  L.push(
    "",
    `${passed} passed, ${failed} failed, ${
      t.length - passed - failed
    } not applicable or not measured.`,
    "",
  );
  L.push("## Throughput, latency and CPU per request", "");
  L.push(
    "Added p50 = proxy p50 − direct p50 in the same round. CPU × floor / × ccr = this proxy's CPU per request " +
      "divided by node-floor's / ccr's in the same round and cell.",
    "",
  );
  L.push(...cellTables(r, a));
  L.push(
    "## Memory (RSS, MiB)",
    "",
    "| process | idle after start | peak (VmHWM) after the load grid | at the end |",
    "|---|---:|---:|---:|",
  );
  for (const [n, mm] of Object.entries(r.mem)) {
    L.push(`| ${n} | ${f1(mm.idle)} | ${f1(mm.peak)} | ${f1(mm.end)} |`);
  }
  L.push(
    "",
    "## Startup to first /health",
    "",
    "| server | median ms | runs (ms) |",
    "|---|---:|---|",
  );
  for (const s of r.startup) {
    L.push(
      `| ${s.name} | ${f0(s.medianMs)} | ${s.runsMs.map((x) => x.toFixed(0)).join(", ")}${
        s.error ? ` (error: ${s.error})` : ""
      } |`,
    );
  }
  L.push(
    "",
    "## `ccmux token` (fresh token, no refresh)",
    "",
    "| command | median ms | × `node -e 0` |",
    "|---|---:|---:|",
  );
  const node0 = r.token.find((x) => x.name === "node -e 0");
  for (const tk of r.token) {
    L.push(
      `| \`${tk.name}\` | ${tk.error ? `error: ${tk.error}` : f1(tk.medianMs)} | ${
        node0 ? ratioStr(tk.medianMs / node0.medianMs) : "–"
      } |`,
    );
  }
  L.push(
    "",
    "## Streaming",
    "",
    "| proxy | events | lag per event (ms) | max lag | pass |",
    "|---|---:|---|---:|---|",
  );
  for (const s of r.streaming) {
    L.push(
      `| ${s.proxy} | ${s.events} | ${s.lagsMs.map((x) => x.toFixed(1)).join(", ")} | ${
        f1(s.maxLagMs)
      } | ${s.pass ? "pass" : `**FAIL**${s.error ? ` (${s.error})` : ""}`} |`,
    );
  }
  L.push("", "## CPU profile of ccmux under load", "");
  for (const p of r.profiles) {
    L.push(`### ${p.name}: ${p.load}`, "");
    if (p.error) {
      L.push(`Not available: ${p.error}`, "");
      continue;
    }
    L.push(
      `${p.busySamples} busy samples (250 µs interval); idle ${
        f1(p.idlePct ?? NaN)
      }% of samples. Percentages are of busy samples.`,
      "",
    );
    L.push("Self time by area:", "", "| area | self % |", "|---|---:|");
    for (const x of (p.areas ?? []).filter((x) => x.selfPct >= 0.5)) {
      L.push(`| ${x.area} | ${f1(x.selfPct)} |`);
    }
    L.push(
      "",
      "Top functions by self time:",
      "",
      "| function | where | self % | total % |",
      "|---|---|---:|---:|",
    );
    for (const x of p.top ?? []) {
      L.push(`| \`${x.fn}\` | ${x.where || "–"} | ${f1(x.selfPct)} | ${f1(x.totalPct)} |`);
    }
    L.push(
      "",
      "Hottest lines (self time; bundle lines mapped to their source; builtins such as `JSON.parse` " +
        "count on the line that calls them):",
      "",
      "| function | where | self % | code |",
      "|---|---|---:|---|",
    );
    for (const x of p.hotLines ?? []) {
      const code = x.code.replace(/\|/g, "\\|").replace(/`/g, "'");
      L.push(`| \`${x.fn}\` | ${x.where} | ${f1(x.pct)} | \`${code}\` |`);
    }
    L.push(
      "",
      "ccmux functions (src/) by inclusive time:",
      "",
      "| function | where | total % | self % |",
      "|---|---|---:|---:|",
    );
    for (const x of p.topInclusive ?? []) {
      L.push(`| \`${x.fn}\` | ${x.where} | ${f1(x.totalPct)} | ${f1(x.selfPct)} |`);
    }
    L.push("");
  }
  L.push("## Where ccmux's time goes", "", ...analysis(r, a), "");
  if (r.notes.length) {
    L.push("## Notes", "");
    for (const n of r.notes) L.push(`- ${n}`);
    L.push("");
  }
  return L.join("\n");
}

export function writeReport(r: Results, file: string): void {
  writeFileSync(file, renderReport(r));
}
