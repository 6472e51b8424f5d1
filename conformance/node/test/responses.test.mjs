// The official OpenAI SDK for JavaScript against the gateway's Responses
// API (POST /v1/responses and the kept responses).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { baseURL, key, limitedKey, skip, FIXED_REPLY } from "./env.mjs";
import { caddyBinary, startGateway } from "./gateway.mjs";
import { USAGE } from "./chatfake.mjs";
import { chatToolGateway, startChatToolFake } from "./fakes.mjs";

// maxRetries 0: a failing gateway must fail the test, not be retried away.
const client = (apiKey = key, url = baseURL) => new OpenAI({ baseURL: url, apiKey, maxRetries: 0, timeout: 20_000 });
const words = (s) => s.split(/\s+/).filter(Boolean).length;

describe("openai SDK, Responses API", { skip }, () => {
  test("responses.create with the echo model", async () => {
    const r = await client().responses.create({ model: "gpt-4o-mini", input: "Hello, gateway!" });
    assert.match(r.id, /^resp_/);
    assert.equal(r.object, "response");
    assert.equal(r.status, "completed");
    assert.equal(r.model, "gpt-4o-mini");
    assert.equal(r.output_text, "Hello, gateway!");
    assert.equal(r.output.length, 1);
    const [message] = r.output;
    assert.equal(message.type, "message");
    assert.equal(message.role, "assistant");
    assert.equal(message.status, "completed");
    assert.match(message.id, /^msg_/);
    assert.deepEqual(message.content, [{ type: "output_text", text: "Hello, gateway!", annotations: [], logprobs: [] }]);
    assert.equal(r.store, true);
    assert.equal(r.error, null);
    assert.equal(r.previous_response_id, null);
    // The mock counts words.
    assert.equal(r.usage.input_tokens, 2);
    assert.equal(r.usage.output_tokens, 2);
    assert.equal(r.usage.total_tokens, 4);
    assert.equal(r.usage.input_tokens_details.cached_tokens, 0);
    assert.equal(r.usage.output_tokens_details.reasoning_tokens, 0);
  });

  test("responses.create with the fixed-reply model and instructions", async () => {
    const r = await client().responses.create({
      model: "fixed-reply",
      instructions: "Answer in one sentence.",
      input: [{ role: "user", content: [{ type: "input_text", text: "Hello, gateway!" }] }],
      max_output_tokens: 100,
      metadata: { suite: "conformance" },
    });
    assert.equal(r.output_text, FIXED_REPLY);
    assert.equal(r.model, "fixed-reply");
    assert.equal(r.instructions, "Answer in one sentence.");
    assert.equal(r.max_output_tokens, 100);
    assert.deepEqual(r.metadata, { suite: "conformance" });
    // The instructions went upstream as a system message: 4 + 2 words.
    assert.equal(r.usage.input_tokens, 6);
    assert.equal(r.usage.output_tokens, words(FIXED_REPLY));
  });

  test("responses.stream: the events in OpenAI's order, and finalResponse()", async () => {
    const stream = client().responses.stream({ model: "fixed-reply", input: "Hello, gateway!" });
    const events = [];
    const snapshots = [];
    const arrivals = [];
    stream.on("event", (e) => events.push(e));
    stream.on("response.output_text.delta", (e) => {
      snapshots.push(e.snapshot);
      arrivals.push(performance.now());
    });
    const final = await stream.finalResponse();

    const n = words(FIXED_REPLY);
    assert.deepEqual(
      events.map((e) => e.type),
      [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        ...Array(n).fill("response.output_text.delta"),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
      ],
    );
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    const id = events[0].response.id;
    assert.match(id, /^resp_/);
    assert.equal(events[0].response.status, "in_progress");
    const deltas = events.filter((e) => e.type === "response.output_text.delta");
    assert.equal(deltas.map((e) => e.delta).join(""), FIXED_REPLY);
    assert.equal(snapshots.at(-1), FIXED_REPLY);
    const itemId = events[2].item.id;
    for (const e of events.slice(2, -1)) {
      assert.equal(e.output_index, 0, e.type);
      assert.equal(e.item_id ?? e.item.id, itemId, e.type);
    }
    assert.equal(events.find((e) => e.type === "response.output_text.done").text, FIXED_REPLY);
    const completed = events.at(-1).response;
    assert.equal(completed.id, id);
    assert.equal(completed.status, "completed");
    assert.equal(completed.usage.output_tokens, n);
    assert.equal(completed.usage.input_tokens, 2);

    assert.equal(final.id, id);
    assert.equal(final.status, "completed");
    assert.equal(final.output_text, FIXED_REPLY);
    assert.equal(final.output[0].id, itemId);
    // The mock waits 20 ms before each word: a stream buffered anywhere on
    // the way would deliver all deltas at once.
    const spread = arrivals.at(-1) - arrivals[0];
    assert.ok(spread > 60, `deltas arrived within ${spread.toFixed(1)} ms: the stream is buffered`);
  });

  test("a kept response: retrieve, input items, delete, then 404", async () => {
    const c = client();
    const created = await c.responses.create({ model: "gpt-4o-mini", input: "Keep this one." });
    const got = await c.responses.retrieve(created.id);
    assert.deepEqual(got, created);

    const items = [];
    for await (const item of c.responses.inputItems.list(created.id)) items.push(item);
    assert.equal(items.length, 1);
    assert.equal(items[0].type, "message");
    assert.equal(items[0].role, "user");
    assert.deepEqual(items[0].content, [{ type: "input_text", text: "Keep this one." }]);

    assert.deepEqual(await c.responses.delete(created.id), { id: created.id, object: "response", deleted: true });
    await assert.rejects(c.responses.retrieve(created.id), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 404);
      assert.equal(err.code, "not_found");
      return true;
    });
    await assert.rejects(c.responses.delete(created.id), OpenAI.NotFoundError);
  });

  test("another key cannot see, continue or delete a kept response", { skip: !limitedKey && "LLM_GATEWAY_LIMITED_KEY not set" }, async () => {
    const created = await client().responses.create({ model: "gpt-4o-mini", input: "Mine only." });
    const other = client(limitedKey);
    await assert.rejects(other.responses.retrieve(created.id), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.code, "not_found");
      return true;
    });
    await assert.rejects(other.responses.delete(created.id), OpenAI.NotFoundError);
    // Still there for its owner.
    assert.equal((await client().responses.retrieve(created.id)).output_text, "Mine only.");
  });

  test("store: false keeps nothing", async () => {
    const r = await client().responses.create({ model: "gpt-4o-mini", input: "Forget me.", store: false });
    assert.equal(r.store, false);
    assert.equal(r.output_text, "Forget me.");
    await assert.rejects(client().responses.retrieve(r.id), OpenAI.NotFoundError);
  });

  test("previous_response_id continues the conversation", async () => {
    const c = client();
    const first = await c.responses.create({ model: "gpt-4o-mini", input: "Hello, gateway!" });
    const second = await c.responses.create({
      model: "gpt-4o-mini",
      previous_response_id: first.id,
      input: "And hello again.",
    });
    assert.equal(second.previous_response_id, first.id);
    assert.equal(second.output_text, "And hello again."); // the echo model answers the last user message
    // The upstream got the first turn's input and answer before the new
    // input: 2 + 2 + 3 words.
    assert.equal(second.usage.input_tokens, 7);

    // A third turn, streamed, continues the chain.
    const third = await c.responses.stream({ model: "gpt-4o-mini", previous_response_id: second.id, input: "Third." }).finalResponse();
    assert.equal(third.output_text, "Third.");
    assert.equal(third.previous_response_id, second.id);
    assert.equal(third.usage.input_tokens, 7 + 3 + 1);

    await assert.rejects(
      c.responses.create({ model: "gpt-4o-mini", previous_response_id: "resp_0000000000000000000000", input: "Hi" }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.code, "previous_response_not_found");
        assert.equal(err.param, "previous_response_id");
        return true;
      },
    );
  });

  test("typed errors: unknown model, bad key, refused member", async () => {
    await assert.rejects(client().responses.create({ model: "no-such-model", input: "Hi" }), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 404);
      assert.equal(err.code, "model_not_found");
      assert.equal(err.param, "model");
      return true;
    });
    // A stream that fails before it starts rejects the same way.
    await assert.rejects(client().responses.stream({ model: "no-such-model", input: "Hi" }).finalResponse(), OpenAI.NotFoundError);
    await assert.rejects(client("not-a-gateway-key").responses.create({ model: "gpt-4o-mini", input: "Hi" }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 401);
      assert.equal(err.code, "invalid_api_key");
      return true;
    });
    await assert.rejects(client().responses.create({ model: "gpt-4o-mini", input: "Hi", background: true }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, "unsupported_parameter");
      assert.equal(err.param, "background");
      return true;
    });
  });

  test("a limited key gets the SDK's RateLimitError", { skip: !limitedKey && "LLM_GATEWAY_LIMITED_KEY not set" }, async () => {
    const call = () => client(limitedKey).responses.create({ model: "fixed-reply", input: "Hi" });
    // The key allows 1 request an hour: the first call may pass (when no
    // other client used it yet), the second cannot.
    await call().catch((err) => assert.ok(err instanceof OpenAI.RateLimitError, String(err)));
    await assert.rejects(call(), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 429);
      assert.equal(err.code, "rate_limit_exceeded");
      assert.ok(Number(err.headers.get("retry-after")) >= 1);
      return true;
    });
  });
});

describe("openai SDK, Responses API: a function-tool round trip", { skip: !caddyBinary && "LLM_GATEWAY_CADDY is not set" }, () => {
  const tool = {
    type: "function",
    name: "get_weather",
    description: "The weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
    strict: true,
  };
  const args = { city: "Hangzhou" };
  const answer = "It is 31 degrees and sunny in Hangzhou.";
  let fake, gateway;
  before(async () => {
    fake = await startChatToolFake({ tool: tool.name, args, callId: "call_weather_1", answer });
    gateway = await startGateway(chatToolGateway(fake, "gpt-4.1"));
  });
  after(async () => {
    await gateway?.stop();
    await fake?.close();
  });

  for (const streamed of [false, true]) {
    test(streamed ? "streamed" : "not streamed", async () => {
      fake.requests.length = 0;
      const c = client("any-key", `${gateway.url}/v1`);
      const ask = (params) => (streamed ? c.responses.stream(params).finalResponse() : c.responses.create(params));
      const input = [{ role: "user", content: "What is the weather in Hangzhou?" }];
      const first = await ask({ model: "gpt-4.1", input, tools: [tool], store: false });
      assert.equal(first.status, "completed");
      assert.equal(first.output.length, 1);
      const [call] = first.output;
      assert.equal(call.type, "function_call");
      assert.equal(call.call_id, "call_weather_1");
      assert.equal(call.name, "get_weather");
      assert.deepEqual(JSON.parse(call.arguments), args);
      assert.equal(call.status, "completed");
      assert.deepEqual(first.tools.map((t) => t.name), ["get_weather"]);

      const output = JSON.stringify({ temp_c: 31, sky: "sunny" });
      const second = await ask({
        model: "gpt-4.1",
        input: [...input, call, { type: "function_call_output", call_id: call.call_id, output }],
        tools: [tool],
        store: false,
      });
      assert.equal(second.output_text, answer);
      assert.equal(second.usage.input_tokens, USAGE.prompt_tokens);
      assert.equal(second.usage.output_tokens, USAGE.completion_tokens);

      assert.deepEqual(
        fake.requests.map((r) => `${r.method} ${r.url}`),
        ["POST /v1/chat/completions", "POST /v1/chat/completions"],
        gateway.log(),
      );
      const [firstChat, secondChat] = fake.requests.map((r) => JSON.parse(r.body));
      assert.equal(firstChat.stream ?? false, streamed);
      assert.deepEqual(firstChat.tools, [
        { type: "function", function: { name: "get_weather", description: tool.description, parameters: tool.parameters, strict: true } },
      ]);
      assert.deepEqual(firstChat.messages, [{ role: "user", content: "What is the weather in Hangzhou?" }]);
      const [user, assistant, result] = secondChat.messages;
      assert.deepEqual(user, firstChat.messages[0]);
      assert.equal(assistant.role, "assistant");
      assert.deepEqual(assistant.tool_calls, [
        { id: "call_weather_1", type: "function", function: { name: "get_weather", arguments: JSON.stringify(args) } },
      ]);
      assert.deepEqual(result, { role: "tool", tool_call_id: "call_weather_1", content: output });
      assert.equal(secondChat.messages.length, 3);
    });
  }
});
