// The floor: a bare Node `http` pass-through (keep-alive agent, piping both ways), the least a
// Node proxy can do per request. ccmux's CPU per request is compared against this one's.
//
//   UPSTREAM=http://127.0.0.1:PORT node scripts/bench/node_floor.mjs PORT
import http from "node:http";
import process from "node:process";

const upstream = new URL(process.env.UPSTREAM);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const HOP = ["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"];

const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  const headers = { ...req.headers, host: upstream.host };
  for (const h of HOP) delete headers[h];
  const up = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    },
    (ur) => {
      const out = { ...ur.headers };
      for (const h of HOP) delete out[h];
      res.writeHead(ur.statusCode ?? 502, out);
      ur.pipe(res);
    },
  );
  up.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
