// AnthropicStreamWriter on its own: the first open block streams live and later ones wait,
// empty blocks are dropped without using an index, nothing is written before the first block
// (so a caller can still fail over), and the SSE and message sinks agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AnthropicStreamWriter, MessageSink, SseSink } from "../src/translate/anthropic_writer.ts";
import { accumulate } from "./helpers/anthropic_sse.ts";

const USAGE = {
  input_tokens: 5,
  output_tokens: 7,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
};

function writer() {
  const sink = new SseSink();
  return { sink, w: new AnthropicStreamWriter(sink, { model: "m", inputTokens: 42 }) };
}

test("a later block is buffered until the one before it closes, then flushed in one delta", () => {
  const { sink, w } = writer();
  w.start("resp_1");
  const text = w.open("text");
  const tool = w.open("tool_use");
  w.tool(tool, "call_1", "Read");
  w.append(tool, '{"a":');
  w.append(text, "Hi");
  const first = sink.take();
  assert.match(first, /"text_delta","text":"Hi"/);
  assert.doesNotMatch(first, /tool_use/, "the tool waits behind the open text block");
  w.append(tool, "1}");
  assert.equal(sink.take(), "");
  w.close(text);
  const second = sink.take();
  assert.match(second, /"content_block_stop","index":0/);
  assert.match(second, /"partial_json":"\{\\"a\\":1\}"/, "buffered arguments in one delta");
  w.close(tool);
  w.finish("tool_use", USAGE);
  const acc = accumulate(first + second + sink.take());
  assert.deepEqual(acc.blocks, [
    { type: "text", text: "Hi" },
    { type: "tool_use", id: "toolu_call_1", name: "Read", input: { a: 1 } },
  ]);
  assert.equal(acc.start?.id, "msg_resp_1");
  assert.deepEqual(acc.usage, USAGE);
});

test("nothing is written before the first block; an empty block is dropped", () => {
  const { sink, w } = writer();
  w.start("resp_2");
  const empty = w.open("text");
  const thinking = w.open("thinking");
  assert.equal(w.committed, false);
  w.close(empty);
  assert.equal(sink.take(), "");
  w.signature(thinking, "openai:gAAAA");
  w.close(thinking);
  assert.equal(w.committed, true);
  w.finish("end_turn", USAGE);
  const acc = accumulate(sink.take());
  assert.deepEqual(acc.blocks, [{ type: "thinking", thinking: "", signature: "openai:gAAAA" }]);
});

test("an error before any block writes only the error event", () => {
  const { sink, w } = writer();
  w.start("resp_3");
  w.open("text");
  w.error("overloaded_error", "busy");
  assert.equal(
    sink.take(),
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"busy"}}\n\n',
  );
  assert.equal(w.done, true);
  w.finish("end_turn", USAGE);
  assert.equal(sink.take(), "");
});

test('a tool still nameless at the end starts with name ""; ids stay unique', () => {
  const { sink, w } = writer();
  const a = w.open("tool_use");
  w.append(a, "{}");
  const b = w.open("tool_use");
  w.tool(b, "call_x", "Bash");
  const c = w.open("tool_use");
  w.tool(c, "call_x", "Bash");
  w.finish("tool_use", USAGE);
  const acc = accumulate(sink.take());
  assert.deepEqual(acc.blocks.map((x) => [x.name, x.id?.startsWith("toolu_")]), [
    ["", true],
    ["Bash", true],
    ["Bash", true],
  ]);
  assert.equal(acc.blocks[1].id, "toolu_call_x");
  assert.equal(acc.blocks[2].id, "toolu_call_x_2");
});

test("the message sink builds what the SSE sink streams", () => {
  const drive = (w: AnthropicStreamWriter) => {
    w.start("resp_4");
    const t = w.open("thinking");
    w.append(t, "plan");
    w.signature(t, "sig");
    const x = w.open("text");
    w.append(x, "a");
    w.append(x, "b");
    const tool = w.open("tool_use");
    w.tool(tool, "call_9", "Grep");
    w.append(tool, '{"pattern":"é"}');
    w.finish("tool_use", USAGE);
  };
  const sse = new SseSink();
  drive(new AnthropicStreamWriter(sse, { model: "m" }));
  const msg = new MessageSink();
  drive(new AnthropicStreamWriter(msg, { model: "m" }));
  const acc = accumulate(sse.take());
  assert.deepEqual(msg.message?.content, acc.blocks);
  assert.equal(msg.message?.stop_reason, "tool_use");
  assert.equal(msg.message?.id, "msg_resp_4");
});
