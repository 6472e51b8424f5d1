// The official Anthropic SDK for JavaScript (@anthropic-ai/sdk) against the
// gateway's Messages API: the conformance gateway's mock models, and a
// gateway of the test's own in front of a loopback OpenAI-compatible fake
// for a tool round trip.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { gatewayURL, key, limitedKey, skip, FIXED_REPLY } from "./env.mjs";
import { caddyBinary, startGateway } from "./gateway.mjs";
import { startChatFake, toolMessage, USAGE } from "./chatfake.mjs";

// Anthropic's clients add /v1 themselves. maxRetries 0: a failing gateway
// must fail the test, not be retried away.
const client = (options = { apiKey: key }) =>
  new Anthropic({ baseURL: gatewayURL, maxRetries: 0, timeout: 20_000, ...options });
const hello = [{ role: "user", content: "Hello, gateway!" }];

// deferred(): a promise and its resolve (Node 20 has no Promise.withResolvers).
function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

describe("@anthropic-ai/sdk", { skip }, () => {
  test("messages.create (echo model)", async () => {
    const m = await client().messages.create({ model: "gpt-4o-mini", max_tokens: 64, messages: hello });
    assert.match(m.id, /^msg_[0-9A-Z]+$/);
    assert.equal(m.type, "message");
    assert.equal(m.role, "assistant");
    assert.equal(m.model, "gpt-4o-mini");
    assert.deepEqual(m.content, [{ type: "text", text: "Hello, gateway!" }]);
    assert.equal(m.stop_reason, "end_turn");
    assert.equal(m.stop_sequence, null);
    assert.deepEqual(m.usage, { input_tokens: 2, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  test("messages.create with the key as authToken (Authorization: Bearer)", async () => {
    const m = await client({ apiKey: null, authToken: key }).messages.create({
      model: "fixed-reply",
      max_tokens: 64,
      system: [{ type: "text", text: "Answer in one sentence.", cache_control: { type: "ephemeral" } }],
      messages: hello,
    });
    assert.deepEqual(m.content, [{ type: "text", text: FIXED_REPLY }]);
    assert.equal(m.model, "fixed-reply");
    assert.equal(m.usage.output_tokens, 9);
  });

  test("messages.stream() and finalMessage()", async () => {
    const stream = client().messages.stream({ model: "fixed-reply", max_tokens: 64, messages: hello });
    const events = [];
    const texts = [];
    stream.on("streamEvent", (e) => events.push(e.delta?.type ?? e.type));
    stream.on("text", (t) => texts.push(t));
    const m = await stream.finalMessage();
    assert.deepEqual(events, [
      "message_start",
      "content_block_start",
      ...Array(9).fill("text_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    assert.equal(texts.join(""), FIXED_REPLY);
    assert.equal(texts.length, 9, "one delta per word, as the mock sends them");
    assert.deepEqual(m.content, [{ type: "text", text: FIXED_REPLY }]);
    assert.equal(m.stop_reason, "end_turn");
    assert.equal(m.model, "fixed-reply");
    assert.equal(m.usage.input_tokens, 2);
    assert.equal(m.usage.output_tokens, 9);
  });

  test("messages.countTokens (the gateway's estimate)", async () => {
    const r = await client().messages.countTokens({ model: "fixed-reply", messages: hello });
    // 3 for the message, and "Hello, gateway!" (15 characters) as 4.
    assert.deepEqual(r, { input_tokens: 7 });
  });

  test("models.list and models.retrieve, in Anthropic's shape", async () => {
    const ids = [];
    for await (const m of client().models.list()) {
      assert.equal(m.type, "model");
      assert.equal(m.display_name, m.id);
      assert.match(m.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      ids.push(m.id);
    }
    assert.deepEqual(ids.sort(), ["fixed-reply", "gpt-4o-mini", "text-embedding-3-small"]);
    const one = await client().models.retrieve("fixed-reply");
    assert.equal(one.id, "fixed-reply");
    assert.equal(one.type, "model");
    await assert.rejects(client().models.retrieve("no-such-model"), Anthropic.NotFoundError);
  });

  test("a wrong key is AuthenticationError", async () => {
    const bad = client({ apiKey: "not-a-gateway-key" });
    await assert.rejects(bad.messages.create({ model: "fixed-reply", max_tokens: 8, messages: hello }), (err) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 401);
      assert.equal(err.type, "authentication_error");
      assert.equal(err.error.type, "error");
      assert.ok(!err.message.includes("not-a-gateway-key"), "the error must not quote the key");
      return true;
    });
  });

  test("an unknown model is NotFoundError", async () => {
    await assert.rejects(client().messages.create({ model: "claude-nope", max_tokens: 8, messages: hello }), (err) => {
      assert.ok(err instanceof Anthropic.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 404);
      assert.equal(err.type, "not_found_error");
      assert.match(err.error.error.message, /^model: The model `claude-nope` does not exist/);
      return true;
    });
  });

  test("a request without max_tokens is BadRequestError", async () => {
    await assert.rejects(client().messages.create({ model: "fixed-reply", messages: hello }), (err) => {
      assert.ok(err instanceof Anthropic.BadRequestError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 400);
      assert.equal(err.type, "invalid_request_error");
      assert.equal(err.error.error.message, "max_tokens: Field required");
      return true;
    });
  });

  test("the rate limit is RateLimitError with retry-after", { skip: !limitedKey && "LLM_GATEWAY_LIMITED_KEY not set" }, async () => {
    const limited = client({ apiKey: limitedKey });
    const call = () => limited.messages.create({ model: "fixed-reply", max_tokens: 8, messages: hello });
    // The key allows 1 request an hour: the first call may pass (when no
    // other client used it yet), the second cannot.
    await call().catch((err) => assert.ok(err instanceof Anthropic.RateLimitError, String(err)));
    await assert.rejects(call(), (err) => {
      assert.ok(err instanceof Anthropic.RateLimitError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 429);
      assert.equal(err.type, "rate_limit_error");
      const retryAfter = Number(err.headers.get("retry-after"));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `retry-after ${retryAfter}`);
      return true;
    });
  });
});

// A tool round trip through a gateway of the test's own: claude-* routes
// to a loopback OpenAI-compatible fake that calls get_weather until it
// sees the tool's result, then answers with it.
describe("@anthropic-ai/sdk tool round trip (OpenAI-compatible upstream)", { skip: !caddyBinary && "LLM_GATEWAY_CADDY not set: run .ci/conformance" }, () => {
  const gatewayKey = "tool-test-key";
  const model = "claude-haiku-4-5-20251001";
  const weather = { city: "Paris", unit: "celsius" };
  const tools = [{
    name: "get_weather",
    description: "The weather in a city now.",
    input_schema: { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } }, required: ["city"] },
  }];
  const question = { role: "user", content: "What is the weather in Paris?" };
  // Settled by the first ping of the stream under way; a new one before
  // each stream.
  let ping = deferred();
  let fake, gateway, sdk;

  before(async () => {
    fake = await startChatFake(
      (body) => {
        const result = toolMessage(body);
        return result
          ? { text: `It is ${result.content} in Paris.` }
          : { toolCall: { id: "call_weather_1", name: "get_weather", args: JSON.stringify(weather) } };
      },
      // A streamed answer begins only once the gateway has sent a ping.
      { hold: () => ping.promise },
    );
    gateway = await startGateway(`
	llm_gateway {
		provider fake openai {
			base_url ${fake.url}/v1
			api_key upstream-secret
		}
		model claude-* fake/gpt-fake
		keepalive 20ms
		auth keys {
			key ${gatewayKey} tools
		}
	}`);
    // The SDK skips ping events: this fetch lets the fake answer once one
    // has reached the client, so the stream is known to have had one.
    const watchPings = async (url, init) => {
      const res = await fetch(url, init);
      if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) return res;
      const decoder = new TextDecoder();
      let seen = "";
      const watch = new TransformStream({
        transform(chunk, controller) {
          seen += decoder.decode(chunk, { stream: true });
          if (seen.includes("event: ping\ndata: {\"type\":\"ping\"}\n\n")) ping.resolve();
          controller.enqueue(chunk);
        },
      });
      return new Response(res.body.pipeThrough(watch), { status: res.status, headers: res.headers });
    };
    sdk = new Anthropic({ baseURL: gateway.url, apiKey: gatewayKey, maxRetries: 0, timeout: 20_000, fetch: watchPings });
  });
  after(async () => {
    await gateway?.stop();
    await fake?.close();
  });

  const checkToolUse = (m) => {
    assert.equal(m.model, model);
    assert.equal(m.stop_reason, "tool_use");
    assert.deepEqual(m.content, [{ type: "tool_use", id: "call_weather_1", name: "get_weather", input: weather }]);
  };
  const checkUpstreamGotResult = (sent) => {
    assert.equal(sent.model, "gpt-fake");
    assert.deepEqual(sent.messages, [
      { role: "user", content: "What is the weather in Paris?" },
      { role: "assistant", content: null,
        tool_calls: [{ id: "call_weather_1", type: "function", function: { name: "get_weather", arguments: JSON.stringify(weather) } }] },
      { role: "tool", tool_call_id: "call_weather_1", content: "18°C and sunny" },
    ]);
    assert.deepEqual(sent.tools, [{ type: "function",
      function: { name: "get_weather", description: "The weather in a city now.", parameters: tools[0].input_schema } }]);
  };
  const followUp = (toolUse) => [question, { role: "assistant", content: toolUse.content },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "call_weather_1", content: "18°C and sunny" }] }];

  test("messages.create: tool_use, then tool_result", async () => {
    const first = await sdk.messages.create({ model, max_tokens: 256, tools, messages: [question] });
    checkToolUse(first);
    assert.deepEqual(first.usage, { input_tokens: USAGE.prompt_tokens, output_tokens: USAGE.completion_tokens,
      cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    const asked = fake.requests.length;
    const second = await sdk.messages.create({ model, max_tokens: 256, tools, messages: followUp(first) });
    assert.deepEqual(second.content, [{ type: "text", text: "It is 18°C and sunny in Paris." }]);
    assert.equal(second.stop_reason, "end_turn");
    assert.equal(fake.requests.length, asked + 1);
    const sent = fake.requests.at(-1);
    assert.equal(sent.headers.authorization, "Bearer upstream-secret", "the provider's key goes upstream, not the caller's");
    const body = JSON.parse(sent.body);
    checkUpstreamGotResult(body);
    assert.equal(body.max_tokens, 256);
    assert.equal(body.stream, undefined);
  });

  test("messages.stream(): pings, input_json_delta, then the result", async () => {
    ping = deferred();
    const stream = sdk.messages.stream({ model, max_tokens: 256, tools, messages: [question] });
    const events = [];
    stream.on("streamEvent", (e) => events.push(e.delta?.type ?? e.content_block?.type ?? e.type));
    const first = await stream.finalMessage();
    checkToolUse(first);
    assert.deepEqual(events, ["message_start", "tool_use", "input_json_delta", "input_json_delta",
      "content_block_stop", "message_delta", "message_stop"]);
    assert.equal(first.usage.output_tokens, USAGE.completion_tokens);

    const texts = [];
    ping = deferred();
    const second = sdk.messages.stream({ model, max_tokens: 256, tools, messages: followUp(first) });
    second.on("text", (t) => texts.push(t));
    const answer = await second.finalMessage();
    assert.deepEqual(texts, ["It ", "is ", "18°C ", "and ", "sunny ", "in ", "Paris."]);
    assert.deepEqual(answer.content, [{ type: "text", text: "It is 18°C and sunny in Paris." }]);
    assert.equal(answer.stop_reason, "end_turn");
    const body = JSON.parse(fake.requests.at(-1).body);
    checkUpstreamGotResult(body);
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
  });
});
