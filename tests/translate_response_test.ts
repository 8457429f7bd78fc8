// OpenAI Chat Completions JSON → Anthropic message: recorded-shape responses against golden
// output, the same messages replayed as a stream, and the shared mappings (stop reasons, usage,
// tool arguments, ids).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  INVALID_ARGUMENTS_KEY,
  openAIToAnthropic,
  parseArguments,
  stopReason,
  usageOf,
} from "../src/translate/response.ts";
import { messageId, toolUseId } from "../src/translate/ids.ts";
import { messageEvents } from "../src/translate/anthropic_writer.ts";
import { accumulate } from "./helpers/anthropic_sse.ts";

const FIXTURES = join(import.meta.dirname ?? ".", "fixtures", "openai");

function json(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8"));
}

describe("openAIToAnthropic golden fixtures", () => {
  for (const name of ["text", "tools", "reasoning", "length"]) {
    test(name, () => {
      const got = openAIToAnthropic(json(`${name}.json`) as never, { model: "test-model" });
      assert.deepEqual(got, json(`${name}.anthropic.json`));
    });
  }
});

describe("openAIToAnthropic shapes", () => {
  test("OpenRouter's `reasoning`, a refusal, and a legacy function_call", () => {
    const r = openAIToAnthropic({
      id: "gen-1",
      choices: [{
        message: { content: "Sure.", reasoning: "think", refusal: null },
        finish_reason: "stop",
      }],
    }, { model: "m" });
    assert.deepEqual(r.content, [
      { type: "thinking", thinking: "think", signature: "" },
      { type: "text", text: "Sure." },
    ]);
    assert.deepEqual(r.usage, {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    const refused = openAIToAnthropic({
      choices: [{ message: { content: null, refusal: "I can't help with that." } }],
    }, { model: "m" });
    assert.equal(refused.stop_reason, "refusal");
    assert.deepEqual(refused.content, [{ type: "text", text: "I can't help with that." }]);
    assert.match(refused.id, /^msg_[A-Za-z0-9]{24}$/);
    const legacy = openAIToAnthropic({
      id: "c",
      choices: [{
        message: { function_call: { name: "f", arguments: '{"x":1}' } },
        finish_reason: "function_call",
      }],
    }, { model: "m" });
    assert.equal(legacy.stop_reason, "tool_use");
    assert.equal(legacy.content[0].type, "tool_use");
    assert.deepEqual((legacy.content[0] as { input: unknown }).input, { x: 1 });
  });

  test("content as an array of parts (Mistral) keeps its text parts", () => {
    const r = openAIToAnthropic({
      id: "m",
      choices: [{
        message: {
          content: [{ type: "thinking" }, { type: "text", text: "A" }, { type: "text", text: "B" }],
        },
        finish_reason: "stop",
      }],
    }, { model: "m" });
    assert.deepEqual(r.content, [{ type: "text", text: "AB" }]);
  });

  test("a provider that says stop after calling tools still yields tool_use", () => {
    const r = openAIToAnthropic({
      id: "ollama-1",
      choices: [{
        message: {
          content: "",
          tool_calls: [{ function: { name: "Bash", arguments: { command: "ls" } } }],
        },
        finish_reason: "stop",
      }],
    }, { model: "m" });
    assert.equal(r.stop_reason, "tool_use");
    assert.equal(r.content.length, 1);
    const block = r.content[0] as { id: string; input: unknown };
    assert.match(block.id, /^toolu_[A-Za-z0-9]{24}$/);
    assert.deepEqual(block.input, { command: "ls" });
  });
});

describe("mappings", () => {
  test("stop reasons", () => {
    assert.equal(stopReason("stop", false), "end_turn");
    assert.equal(stopReason("length", true), "max_tokens");
    assert.equal(stopReason("tool_calls", false), "tool_use");
    assert.equal(stopReason("function_call", false), "tool_use");
    assert.equal(stopReason("content_filter", false), "refusal");
    assert.equal(stopReason(null, false), "end_turn");
    assert.equal(stopReason(undefined, true), "tool_use");
    assert.equal(stopReason("eos", false), "end_turn");
  });

  test("usage: cached tokens are split out of input tokens (OpenAI and DeepSeek fields)", () => {
    assert.deepEqual(
      usageOf({
        prompt_tokens: 100,
        completion_tokens: 5,
        prompt_tokens_details: { cached_tokens: 60 },
      }),
      {
        input_tokens: 40,
        output_tokens: 5,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 60,
      },
    );
    assert.equal(usageOf({ prompt_tokens: 100, prompt_cache_hit_tokens: 30 }).input_tokens, 70);
    assert.equal(usageOf(null).input_tokens, 0);
  });

  test("tool arguments", () => {
    assert.deepEqual(parseArguments(""), {});
    assert.deepEqual(parseArguments("  "), {});
    assert.deepEqual(parseArguments(undefined), {});
    assert.deepEqual(parseArguments('{"a":[1,{"b":null}]}'), { a: [1, { b: null }] });
    assert.deepEqual(parseArguments({ a: 1 }), { a: 1 });
    assert.deepEqual(parseArguments('{"a":'), { [INVALID_ARGUMENTS_KEY]: '{"a":' });
    assert.deepEqual(parseArguments("[1]"), { [INVALID_ARGUMENTS_KEY]: "[1]" });
  });

  test("ids are derived, sanitised for Anthropic, and unique within a message", () => {
    assert.equal(messageId("chatcmpl-abc"), "msg_chatcmpl-abc");
    assert.equal(messageId("msg_x"), "msg_x");
    const taken = new Set<string>();
    assert.equal(toolUseId("call_1", taken), "toolu_call_1");
    assert.equal(toolUseId("call_1", taken), "toolu_call_1_2");
    assert.equal(toolUseId("functions.Read:0", taken), "toolu_functions_Read_0");
    assert.equal(toolUseId("toolu_01A", taken), "toolu_01A");
    const a = toolUseId(undefined, taken);
    const b = toolUseId("", taken);
    assert.notEqual(a, b);
    for (const id of taken) assert.match(id, /^[A-Za-z0-9_-]+$/);
  });
});

describe("messageEvents (a JSON answer replayed as a stream)", () => {
  for (const name of ["text", "tools", "reasoning", "length"]) {
    test(`${name}: the events accumulate into the same message`, () => {
      const msg = openAIToAnthropic(json(`${name}.json`) as never, { model: "test-model" });
      const acc = accumulate(messageEvents(msg));
      assert.deepEqual(acc.blocks, msg.content);
      assert.equal(acc.stop, msg.stop_reason);
      assert.deepEqual(acc.usage, msg.usage);
      assert.equal(acc.start?.id, msg.id);
      assert.deepEqual(acc.start?.usage, { ...msg.usage, output_tokens: 0 });
      assert.equal(acc.events.at(-1), "message_stop");
    });
  }
});
