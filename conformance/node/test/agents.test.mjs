// The OpenAI Agents SDK (@openai/agents) in Responses mode against a
// gateway of the test's own, whose model is answered by a loopback fake
// chat upstream that calls the agent's function tool, then answers.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Agent, OpenAIProvider, Runner, tool } from "@openai/agents";
import { z } from "zod";
import { caddyBinary, startGateway } from "./gateway.mjs";
import { chatToolGateway, startChatToolFake } from "./fakes.mjs";

const skip = !caddyBinary && "LLM_GATEWAY_CADDY is not set: run .ci/conformance, which builds the gateway";

describe("OpenAI Agents SDK, Responses API", { skip }, () => {
  const answer = "It is 31 degrees and sunny in Hangzhou.";
  let fake, gateway, runner;
  before(async () => {
    fake = await startChatToolFake({ tool: "get_weather", args: { city: "Hangzhou" }, callId: "call_agent_1", answer });
    gateway = await startGateway(chatToolGateway(fake, "gpt-4.1"));
    const provider = new OpenAIProvider({ baseURL: `${gateway.url}/v1`, apiKey: "any-key", useResponses: true });
    // No tracing: it would export the run to OpenAI.
    runner = new Runner({ modelProvider: provider, tracingDisabled: true });
  });
  after(async () => {
    await gateway?.stop();
    await fake?.close();
  });

  // newAgent(): an agent whose tool records the arguments it ran with.
  const newAgent = () => {
    const calls = [];
    const getWeather = tool({
      name: "get_weather",
      description: "The weather in a city.",
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push({ city });
        return JSON.stringify({ city, temp_c: 31, sky: "sunny" });
      },
    });
    const agent = new Agent({ name: "Weather", instructions: "Answer with the weather tool.", model: "gpt-4.1", tools: [getWeather] });
    return { agent, calls };
  };

  for (const stream of [false, true]) {
    test(stream ? "streamed run" : "run", async () => {
      fake.requests.length = 0;
      const { agent, calls } = newAgent();
      const result = await runner.run(agent, "What is the weather in Hangzhou?", { stream });
      if (stream) {
        for await (const _ of result.toStream());
        await result.completed;
      }
      assert.equal(result.finalOutput, answer, gateway.log());
      assert.deepEqual(calls, [{ city: "Hangzhou" }]);
      // Both model calls were Responses calls: the chat model would carry
      // the upstream's chatcmpl- id.
      assert.equal(result.rawResponses.length, 2);
      for (const r of result.rawResponses) assert.match(r.responseId, /^resp_/);

      assert.deepEqual(
        fake.requests.map((r) => `${r.method} ${r.url}`),
        ["POST /v1/chat/completions", "POST /v1/chat/completions"],
      );
      const [first, second] = fake.requests.map((r) => JSON.parse(r.body));
      assert.equal(first.stream ?? false, stream);
      assert.deepEqual(first.messages, [
        { role: "system", content: "Answer with the weather tool." },
        { role: "user", content: "What is the weather in Hangzhou?" },
      ]);
      assert.deepEqual(first.tools.map((t) => t.function.name), ["get_weather"]);
      const toolResult = second.messages.at(-1);
      assert.equal(toolResult.role, "tool");
      assert.equal(toolResult.tool_call_id, "call_agent_1");
      assert.deepEqual(JSON.parse(toolResult.content), { city: "Hangzhou", temp_c: 31, sky: "sunny" });
    });
  }
});
