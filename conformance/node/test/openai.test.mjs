// The official OpenAI SDK for JavaScript against the gateway.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { baseURL, key, limitedKey, skip, FIXED_REPLY } from "./env.mjs";

// maxRetries 0: a failing gateway must fail the test, not be retried away.
const client = () => new OpenAI({ baseURL, apiKey: key, maxRetries: 0, timeout: 20_000 });
const hello = [{ role: "user", content: "Hello, gateway!" }];

describe("openai SDK", { skip }, () => {
  test("chat completion", async () => {
    const r = await client().chat.completions.create({ model: "gpt-4o-mini", messages: hello });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.model, "gpt-4o-mini");
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].index, 0);
    assert.equal(r.choices[0].message.role, "assistant");
    assert.equal(r.choices[0].message.content, "Hello, gateway!"); // the echo model
    assert.equal(r.choices[0].finish_reason, "stop");
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    assert.ok(r.usage.completion_tokens > 0);
  });

  test("chat completion, fixed reply", async () => {
    const r = await client().chat.completions.create({ model: "fixed-reply", messages: hello });
    assert.equal(r.choices[0].message.content, FIXED_REPLY);
    assert.equal(r.model, "fixed-reply");
  });

  test("streamed chat completion arrives chunk by chunk", async () => {
    const stream = await client().chat.completions.create({
      model: "fixed-reply",
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let contentChunks = 0;
    let finish = null;
    let usage = null;
    const arrivals = [];
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue; // the final usage chunk has no choices
      if (choice.delta?.content) {
        text += choice.delta.content;
        contentChunks++;
        arrivals.push(performance.now());
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(text, FIXED_REPLY);
    assert.ok(contentChunks >= 5, `expected one chunk per word, got ${contentChunks}`);
    assert.equal(finish, "stop");
    assert.ok(usage, "include_usage asked for a usage chunk");
    assert.equal(usage.completion_tokens, contentChunks);
    // The mock waits 20 ms before each word: a stream buffered anywhere on
    // the way would deliver all chunks at once.
    const spread = arrivals.at(-1) - arrivals[0];
    assert.ok(spread > 60, `chunks arrived within ${spread.toFixed(1)} ms: the stream is buffered`);
  });

  test("stream helper (runner) accumulates the message", async () => {
    const runner = client().chat.completions.stream({ model: "fixed-reply", messages: hello });
    const deltas = [];
    runner.on("content", (delta) => deltas.push(delta));
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, FIXED_REPLY);
    assert.equal(deltas.join(""), FIXED_REPLY);
  });

  test("unknown model is the SDK's NotFoundError", async () => {
    await assert.rejects(
      client().chat.completions.create({ model: "no-such-model", messages: hello }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.status, 404);
        assert.equal(err.code, "model_not_found");
        assert.equal(err.param, "model");
        assert.equal(err.type, "invalid_request_error");
        return true;
      },
    );
  });

  test("wrong key is the SDK's AuthenticationError", async () => {
    const bad = new OpenAI({ baseURL, apiKey: "not-a-gateway-key", maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: "gpt-4o-mini", messages: hello }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 401);
      assert.equal(err.code, "invalid_api_key");
      assert.ok(!err.message.includes("not-a-gateway-key"), "the error must not quote the key");
      return true;
    });
  });

  test("model outside the key's allow-list is PermissionDeniedError", { skip: !limitedKey && "LLM_GATEWAY_LIMITED_KEY not set" }, async () => {
    const limited = new OpenAI({ baseURL, apiKey: limitedKey, maxRetries: 0 });
    await assert.rejects(limited.chat.completions.create({ model: "gpt-4o-mini", messages: hello }), (err) => {
      // 403 before the limit, or 429 once the key's 1 request is spent:
      // the limit is counted before the model is checked.
      assert.ok(
        err instanceof OpenAI.PermissionDeniedError || err instanceof OpenAI.RateLimitError,
        `got ${err?.constructor?.name}: ${err}`,
      );
      return true;
    });
  });

  test("rate limit is the SDK's RateLimitError with Retry-After", { skip: !limitedKey && "LLM_GATEWAY_LIMITED_KEY not set" }, async () => {
    const limited = new OpenAI({ baseURL, apiKey: limitedKey, maxRetries: 0 });
    const call = () => limited.chat.completions.create({ model: "fixed-reply", messages: hello });
    // The key allows 1 request an hour: the first call may pass (when no
    // other client used it yet), the second cannot.
    await call().catch((err) => assert.ok(err instanceof OpenAI.RateLimitError, String(err)));
    await assert.rejects(call(), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 429);
      assert.equal(err.code, "rate_limit_exceeded");
      const retryAfter = Number(err.headers.get("retry-after"));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${retryAfter}`);
      assert.equal(err.headers.get("x-ratelimit-remaining"), "0");
      assert.equal(err.headers.get("x-ratelimit-limit"), "1");
      return true;
    });
  });

  test(".withResponse() exposes X-RateLimit-* headers", async () => {
    const { data, response } = await client()
      .chat.completions.create({ model: "fixed-reply", messages: hello })
      .withResponse();
    assert.equal(data.choices[0].message.content, FIXED_REPLY);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-ratelimit-limit"), "1000");
    const remaining = Number(response.headers.get("x-ratelimit-remaining"));
    assert.ok(remaining >= 0 && remaining < 1000, `remaining ${remaining}`);
    const reset = Number(response.headers.get("x-ratelimit-reset"));
    const now = Date.now() / 1000;
    assert.ok(reset > now && reset <= now + 61, `reset ${reset} is not unix seconds within the 1m window`);
    // OpenAI's own names, which some clients read instead.
    assert.equal(response.headers.get("x-ratelimit-limit-requests"), "1000");
    assert.equal(response.headers.get("x-ratelimit-limit-tokens"), "1000000");
    assert.match(response.headers.get("x-llm-gateway-overhead-ms") ?? "", /^\d+(\.\d+)?$/);
  });

  test(".asResponse() gives the raw streamed response", async () => {
    const response = await client()
      .chat.completions.create({ model: "fixed-reply", messages: hello, stream: true })
      .asResponse();
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^text\/event-stream/);
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.equal(response.headers.get("x-accel-buffering"), "no");
    assert.ok(Number(response.headers.get("x-ratelimit-remaining")) >= 0);
    const body = await response.text();
    const events = body.split("\n\n").filter(Boolean);
    assert.equal(events.at(-1).trim(), "data: [DONE]");
    for (const e of events.slice(0, -1)) {
      assert.ok(e.startsWith("data: "), e);
      JSON.parse(e.slice(6)); // every event is one JSON chunk
    }
  });

  test("models list", async () => {
    const ids = [];
    for await (const m of client().models.list()) {
      assert.equal(m.object, "model");
      assert.equal(typeof m.created, "number");
      assert.equal(typeof m.owned_by, "string");
      ids.push(m.id);
    }
    assert.deepEqual(ids.sort(), ["fixed-reply", "gpt-4o-mini", "text-embedding-3-small"]);
    const one = await client().models.retrieve("fixed-reply");
    assert.equal(one.id, "fixed-reply");
    await assert.rejects(client().models.retrieve("no-such-model"), OpenAI.NotFoundError);
  });

  test("embeddings", async () => {
    const r = await client().embeddings.create({
      model: "text-embedding-3-small",
      input: ["first text", "second text", "first text"],
    });
    assert.equal(r.object, "list");
    assert.equal(r.data.length, 3);
    r.data.forEach((d, i) => {
      assert.equal(d.object, "embedding");
      assert.equal(d.index, i);
      assert.ok(Array.isArray(d.embedding) && d.embedding.length > 0);
      const norm = Math.hypot(...d.embedding);
      assert.ok(Math.abs(norm - 1) < 1e-3, `not a unit vector: ${norm}`);
    });
    assert.deepEqual(r.data[0].embedding, r.data[2].embedding); // same input, same vector
    assert.notDeepEqual(r.data[0].embedding, r.data[1].embedding);
    assert.ok(r.usage.prompt_tokens > 0);
  });

  test("embeddings as base64 (the SDK's default encoding)", async () => {
    // Without encoding_format the SDK asks for base64 and decodes it itself.
    const r = await client().embeddings.create({ model: "text-embedding-3-small", input: "first text" });
    const f = await client().embeddings.create({
      model: "text-embedding-3-small",
      input: "first text",
      encoding_format: "float",
    });
    assert.equal(r.data[0].embedding.length, f.data[0].embedding.length);
    r.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - f.data[0].embedding[i]) < 1e-6));
  });
});
