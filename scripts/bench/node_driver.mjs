// Fallback load driver when wrk is missing: keep-alive connections, each sending the same POST
// back to back for BENCH_DURATION_S seconds; prints the same BENCH_RESULT line as post.lua.
// Runs as its own process so its CPU is never counted with the proxy's.
//
//   BENCH_URL=... BENCH_BODY_FILE=... BENCH_HEADERS_FILE=... BENCH_CONNS=16 BENCH_DURATION_S=3
import { readFileSync } from "node:fs";
import http from "node:http";
import process from "node:process";

const url = new URL(process.env.BENCH_URL);
const body = readFileSync(process.env.BENCH_BODY_FILE);
const headers = { "content-length": String(body.length) };
for (const line of readFileSync(process.env.BENCH_HEADERS_FILE, "utf8").split("\n")) {
  const m = /^([^:]+):\s*(.*)$/.exec(line);
  if (m) headers[m[1]] = m[2];
}
const conns = Number(process.env.BENCH_CONNS ?? 1);
const durationMs = Number(process.env.BENCH_DURATION_S ?? 3) * 1000;
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const lat = [];
let bytes = 0, status = 0, other = 0;
const t0 = performance.now();

function one() {
  return new Promise((resolve) => {
    const s = performance.now();
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: "POST",
        headers,
        agent,
      },
      (res) => {
        if (res.statusCode >= 400) status++;
        res.on("data", (c) => bytes += c.length);
        res.on("end", () => {
          lat.push(performance.now() - s);
          resolve();
        });
      },
    );
    req.on("error", () => {
      other++;
      resolve();
    });
    req.end(body);
  });
}

async function loop() {
  while (performance.now() - t0 < durationMs) await one();
}

await Promise.all(Array.from({ length: conns }, loop));
const dur = performance.now() - t0;
lat.sort((a, b) => a - b);
const pct = (p) =>
  Math.round((lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0) * 1000);
const mean = lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length) * 1000;
process.stdout.write(
  `BENCH_RESULT ${
    JSON.stringify({
      requests: lat.length,
      duration_us: Math.round(dur * 1000),
      bytes,
      connect: 0,
      read: other,
      write: 0,
      status,
      timeout: 0,
      p50_us: pct(0.5),
      p99_us: pct(0.99),
      mean_us: mean,
      max_us: Math.round((lat[lat.length - 1] ?? 0) * 1000),
    })
  }\n`,
);
agent.destroy();
