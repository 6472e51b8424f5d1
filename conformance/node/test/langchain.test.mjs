// LangChain's ChatOpenAI against the gateway.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChatOpenAI } from "@langchain/openai";
import { baseURL, key, skip, FIXED_REPLY } from "./env.mjs";

const chat = (model = "fixed-reply") =>
  new ChatOpenAI({ model, apiKey: key, configuration: { baseURL }, maxRetries: 0, timeout: 20_000 });

describe("@langchain/openai ChatOpenAI", { skip }, () => {
  test("invoke", async () => {
    const msg = await chat().invoke("Say the sentence.");
    assert.equal(msg.content, FIXED_REPLY);
    assert.equal(msg.response_metadata.finish_reason, "stop");
    assert.ok(msg.usage_metadata.output_tokens > 0);
    assert.equal(
      msg.usage_metadata.total_tokens,
      msg.usage_metadata.input_tokens + msg.usage_metadata.output_tokens,
    );
  });

  test("invoke with a conversation (echo model)", async () => {
    const msg = await chat("gpt-4o-mini").invoke([
      ["system", "You are a test."],
      ["human", "first"],
      ["ai", "ok"],
      ["human", "the last message"],
    ]);
    assert.equal(msg.content, "the last message");
  });

  test("stream", async () => {
    const parts = [];
    let final;
    for await (const chunk of await chat().stream("Say the sentence.")) {
      if (chunk.content) parts.push(chunk.content);
      final = final ? final.concat(chunk) : chunk;
    }
    assert.ok(parts.length >= 5, `expected one chunk per word, got ${parts.length}`);
    assert.equal(parts.join(""), FIXED_REPLY);
    assert.equal(final.content, FIXED_REPLY);
    // ChatOpenAI asks for stream usage; the gateway must deliver it.
    assert.ok(final.usage_metadata?.output_tokens > 0, JSON.stringify(final.usage_metadata));
  });

  test("unknown model rejects with a 404", async () => {
    await assert.rejects(chat("no-such-model").invoke("hi"), (err) => {
      assert.equal(err.status ?? err.lc_error_code, err.status === undefined ? "MODEL_NOT_FOUND" : 404, String(err));
      return true;
    });
  });
});
