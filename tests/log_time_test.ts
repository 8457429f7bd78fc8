// log.ts's cached timestamp formatting must equal Date.prototype.toISOString exactly.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isoNow } from "../src/proxy/log.ts";

describe("isoNow", () => {
  test("equals toISOString at second edges, across seconds and for random times", () => {
    const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 951782400000, 1764170059999];
    let seed = 12345;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      times.push(Math.floor((seed / 2147483648) * 4e12));
    }
    for (const t of times) assert.equal(isoNow(t), new Date(t).toISOString(), String(t));
    // Going back and forth between seconds reuses nothing stale.
    for (const t of [5000, 5999, 4999, 5000]) assert.equal(isoNow(t), new Date(t).toISOString());
  });
});
