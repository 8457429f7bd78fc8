// A Responses stream collected into one Anthropic message (for non-streaming clients): the
// golden messages, the same in any split, block for block what the streaming path produced,
// and failures — also after content began — as a failure rather than half a message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { collectResponses, ResponsesCollector } from "../src/translate/responses/collect.ts";
import { ResponsesStreamTranslator } from "../src/translate/responses/stream.ts";
import { accumulate, prng, randomCuts, splitAt } from "./helpers/anthropic_sse.ts";
import {
  CODEX_STREAMS,
  codexFixture,
  codexGoldenJson,
  codexOpts,
} from "./helpers/codex_fixtures.ts";

function collect(bytes: Uint8Array, cuts: number[]) {
  const c = new ResponsesCollector(codexOpts());
  for (const piece of splitAt(bytes, cuts)) c.push(piece);
  c.end();
  return c.result();
}

for (const name of CODEX_STREAMS) {
  test(`collect ${name}: golden message or failure, in any split`, () => {
    const input = codexFixture(name);
    const r = collectResponses(input, codexOpts());
    const got = "message" in r ? r.message : { failure: r.failure };
    const expected = codexGoldenJson(name);
    assert.deepEqual(got, expected);
    const rnd = prng(name.length * 31 + 7);
    for (let round = 0; round < 10; round++) {
      const cuts = randomCuts(rnd, input.length);
      assert.deepEqual(collect(input, cuts), r, `cuts ${cuts.join(",")}`);
    }
    assert.deepEqual(collect(input, Array.from({ length: input.length }, (_, i) => i)), r);
  });
}

test("collected messages match the streamed blocks, stop reason and usage", () => {
  for (const name of ["text", "reasoning", "parallel_tools", "early_args", "incomplete"]) {
    const bytes = codexFixture(name);
    const t = new ResponsesStreamTranslator(codexOpts());
    const acc = accumulate(t.push(bytes) + t.end());
    const r = collectResponses(bytes, codexOpts());
    assert.ok("message" in r, name);
    assert.deepEqual(r.message.content, acc.blocks, name);
    assert.equal(r.message.stop_reason, acc.stop, name);
    assert.deepEqual(r.message.usage, acc.usage, name);
  }
});

test("a failure after content began is still a failure for a waiting client", () => {
  const r = collectResponses(codexFixture("failed_midstream"), codexOpts());
  assert.ok("failure" in r);
  assert.equal(r.failure.status, 502);
  const early = collectResponses(codexFixture("failed_early"), codexOpts());
  assert.ok("failure" in early);
  assert.equal(early.failure.status, 429);
});

test("a broken connection and an unfinished collector both give a 502 failure", () => {
  const c = new ResponsesCollector(codexOpts());
  c.push(codexFixture("text").slice(0, 900));
  assert.equal(c.done, false);
  const pending = c.result();
  assert.ok("failure" in pending && pending.failure.status === 502);
  c.error(new Error("ECONNRESET"));
  assert.equal(c.done, true);
  const r = c.result();
  assert.ok("failure" in r);
  assert.match(r.failure.message, /ECONNRESET/);
});
