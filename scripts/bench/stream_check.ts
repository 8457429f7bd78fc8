// Streaming check: the stub sends text deltas "@<send time>@" one every gap; each must reach
// the client before the next one is even sent (lag < gap), i.e. the proxy forwards events as
// they arrive instead of buffering. Times are wall-clock (timeOrigin + now) in both processes.
import http from "node:http";

export interface StreamCheck {
  events: number;
  lagsMs: number[];
  maxLagMs: number;
  pass: boolean;
  error?: string;
}

const now = () => performance.timeOrigin + performance.now();

export function streamCheck(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: string,
  gapMs: number,
  expected: number,
): Promise<StreamCheck> {
  return new Promise((resolve) => {
    const lags: number[] = [];
    let text = "";
    const done = (error?: string) => {
      const maxLagMs = lags.length ? Math.max(...lags) : NaN;
      resolve({
        events: lags.length,
        lagsMs: lags,
        maxLagMs,
        pass: !error && lags.length === expected && maxLagMs < gapMs,
        error,
      });
    };
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        agent: false,
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return done(`status ${res.statusCode}`);
        }
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          const t = now();
          text += chunk;
          const all = [...text.matchAll(/@(\d+\.\d+)@/g)];
          for (let i = lags.length; i < all.length; i++) lags.push(t - Number(all[i][1]));
        });
        res.on("end", () => done());
        res.on("error", (e) => done(e.message));
      },
    );
    req.on("error", (e) => done(e.message));
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}
