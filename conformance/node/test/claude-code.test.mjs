// Claude Code (@anthropic-ai/claude-code) with ANTHROPIC_BASE_URL set to a
// gateway of the test's own, offline: `claude -p "…" --output-format json`
// completes a turn backed by the mock provider, one backed by a loopback
// OpenAI-compatible fake, one in which the fake has it run its Read tool
// on a file in a read-only folder and answers with the result, and one
// relayed untouched to a loopback fake of Anthropic's API.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { caddyBinary, startFake, startGateway } from "./gateway.mjs";
import { startChatFake, toolMessage, USAGE } from "./chatfake.mjs";

const claude = new URL("../node_modules/.bin/claude", import.meta.url).pathname;
const gatewayKey = "claude-code-test-key";
const MOCK_REPLY = "Hello from the mock.";
const FAKE_REPLY = "Hello from the OpenAI-compatible upstream.";
const SECRET = "The password is swordfish.";
const NATIVE_REPLY = "Hello from Anthropic.";

// anthropicStream is a streamed Message saying text, as Anthropic's API
// sends it.
function anthropicStream(model, text) {
  const events = [
    ["message_start", { type: "message_start", message: { id: "msg_native_1", type: "message", role: "assistant", model, content: [],
      stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 3 } } }],
    ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
    ["ping", { type: "ping" }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }],
    ["content_block_stop", { type: "content_block_stop", index: 0 }],
    ["message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 4 } }],
    ["message_stop", { type: "message_stop" }],
  ];
  return events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
}

describe("Claude Code through the gateway", { skip: !caddyBinary && "LLM_GATEWAY_CADDY not set: run .ci/conformance" }, () => {
  let fake, anthropic, gateway, work, home;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "claude-code-work-"));
    home = mkdtempSync(join(tmpdir(), "claude-code-home-"));
    writeFileSync(join(work, "notes.txt"), SECRET + "\n");
    chmodSync(work, 0o555);
    // Asked about notes.txt, the fake calls Read on it until it sees the
    // tool's result; anything else gets a plain answer.
    fake = await startChatFake((body) => {
      const result = toolMessage(body);
      if (result) return { text: `The file says: ${result.content}` };
      if (JSON.stringify(body.messages).includes("notes.txt")) {
        return { toolCall: { id: "call_read_1", name: "Read", args: JSON.stringify({ file_path: join(work, "notes.txt") }) } };
      }
      return { text: FAKE_REPLY };
    });
    anthropic = await startFake((req, res, raw) => {
      const body = JSON.parse(raw);
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.end(anthropicStream(body.model, NATIVE_REPLY));
    });
    // Claude Code asks for dated names; prefix routes pick the upstream.
    gateway = await startGateway(`
	llm_gateway {
		provider claude anthropic {
			base_url ${anthropic.url}
			api_key sk-ant-upstream
		}
		provider fake openai {
			base_url ${fake.url}/v1
			api_key upstream-secret
		}
		provider fixed mock {
			reply "${MOCK_REPLY}"
		}
		model claude-haiku-* fixed
		model claude-opus-4-8-2* claude/claude-opus-upstream
		model claude-* fake/gpt-fake
		auth keys {
			key ${gatewayKey} claude-code
		}
	}`);
  });
  after(async () => {
    await gateway?.stop();
    await fake?.close();
    await anthropic?.close();
    if (work) chmodSync(work, 0o755);
    for (const dir of [work, home]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // runClaude(args, auth): `claude -p …` in the read-only folder, offline,
  // its JSON result parsed.
  const runClaude = (args, auth) =>
    new Promise((resolve, reject) => {
      const child = spawn(claude, ["--output-format", "json", ...args], {
        cwd: work,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          PATH: process.env.PATH,
          HOME: home,
          ANTHROPIC_BASE_URL: gateway.url,
          DISABLE_TELEMETRY: "1",
          DISABLE_AUTOUPDATER: "1",
          DISABLE_ERROR_REPORTING: "1",
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          CLAUDE_CODE_MAX_RETRIES: "0",
          ...auth,
        },
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      const timer = setTimeout(() => child.kill(), 60_000);
      child.once("error", reject);
      child.once("exit", (code) => {
        clearTimeout(timer);
        if (code !== 0) {
          reject(new Error(`claude exited ${code}\nstdout: ${out}\nstderr: ${err}\ngateway:\n${gateway.log()}`));
          return;
        }
        resolve(JSON.parse(out));
      });
    });

  const assertSuccess = (result, text, turns) => {
    assert.equal(result.type, "result");
    assert.equal(result.subtype, "success");
    assert.equal(result.is_error, false, JSON.stringify(result));
    assert.equal(result.result, text);
    assert.equal(result.stop_reason, "end_turn");
    assert.equal(result.num_turns, turns);
  };

  test("a turn backed by the mock provider (ANTHROPIC_API_KEY)", async () => {
    const asked = fake.requests.length;
    const result = await runClaude(["-p", "Say hello", "--model", "claude-haiku-4-5-20251001"], { ANTHROPIC_API_KEY: gatewayKey });
    assertSuccess(result, MOCK_REPLY, 1);
    assert.deepEqual(Object.keys(result.modelUsage), ["claude-haiku-4-5-20251001"]);
    assert.equal(result.usage.output_tokens, 4, "the mock counts a token a word");
    assert.equal(fake.requests.length, asked, "claude-haiku-* is the mock's");
    assert.match(gateway.log(), /"path":"\/v1\/messages","operation":"chat\/completions","model":"claude-haiku-4-5-20251001","provider":"fixed"/);
  });

  test("a turn backed by an OpenAI-compatible upstream (ANTHROPIC_AUTH_TOKEN)", async () => {
    const asked = fake.requests.length;
    const result = await runClaude(["-p", "Say hello"], { ANTHROPIC_AUTH_TOKEN: gatewayKey });
    assertSuccess(result, FAKE_REPLY, 1);
    assert.deepEqual(
      [result.usage.input_tokens, result.usage.output_tokens],
      [USAGE.prompt_tokens, USAGE.completion_tokens],
    );
    assert.equal(fake.requests.length, asked + 1);
    const sent = fake.requests.at(-1);
    assert.equal(sent.url, "/v1/chat/completions");
    assert.equal(sent.headers.authorization, "Bearer upstream-secret");
    const body = JSON.parse(sent.body);
    assert.equal(body.model, "gpt-fake");
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    // thinking {"type":"adaptive"} with output_config.effort "high".
    assert.equal(body.reasoning_effort, "high");
    assert.ok(body.max_tokens > 0);
    assert.equal(typeof body.user, "string", "metadata.user_id");
    // The system blocks, without the billing block, come first; the
    // system message Claude Code puts among the messages stays in place.
    assert.equal(body.messages[0].role, "system");
    assert.match(body.messages[0].content, /^You are a Claude agent/);
    assert.ok(!sent.body.includes("x-anthropic-billing-header"), "the billing block is dropped");
    assert.deepEqual(body.messages.map((m) => m.role), ["system", "user", "system"]);
    assert.ok(JSON.stringify(body.messages[1].content).includes("Say hello"));
    const names = body.tools.map((t) => t.function.name);
    assert.ok(names.length >= 20, `${names.length} tools`);
    for (const name of ["Bash", "Edit", "Read", "Write"]) assert.ok(names.includes(name), `no ${name} in ${names}`);
    for (const t of body.tools) {
      assert.equal(t.type, "function");
      assert.equal(t.function.parameters.type, "object", t.function.name);
    }
    for (const field of ["thinking", "output_config", "context_management", "metadata", "system"]) {
      assert.ok(!(field in body), `${field} is not a chat field`);
    }
  });

  test("a turn in which the model reads a file with Claude Code's Read tool", async () => {
    const asked = fake.requests.length;
    const result = await runClaude(["-p", "What does notes.txt say?"], { ANTHROPIC_API_KEY: gatewayKey });
    assert.equal(fake.requests.length, asked + 2, "the tool call, then the answer");
    const sent = JSON.parse(fake.requests.at(-1).body);
    const call = sent.messages.find((m) => m.role === "assistant");
    assert.deepEqual(call.tool_calls, [{ id: "call_read_1", type: "function",
      function: { name: "Read", arguments: JSON.stringify({ file_path: join(work, "notes.txt") }) } }]);
    const toolResult = toolMessage(sent);
    assert.equal(toolResult.tool_call_id, "call_read_1");
    // Claude Code numbers the lines it reads.
    assert.equal(toolResult.content, `1\t${SECRET}\n2\t`);
    assertSuccess(result, `The file says: 1\t${SECRET}\n2\t`, 2);
  });

  // Claude Code sends the system message among the messages to the
  // models it knows take it (claude-opus-4-8…), with their beta header.
  test("a turn relayed untouched to Anthropic's API", async () => {
    const asked = fake.requests.length;
    const result = await runClaude(["-p", "Say hello", "--model", "claude-opus-4-8-20261001"], { ANTHROPIC_API_KEY: gatewayKey });
    assertSuccess(result, NATIVE_REPLY, 1);
    assert.equal(result.usage.cache_read_input_tokens, 3, "Anthropic's own usage");
    assert.equal(fake.requests.length, asked);
    assert.equal(anthropic.requests.length, 1);
    const sent = anthropic.requests[0];
    assert.equal(sent.url, "/v1/messages");
    assert.equal(sent.headers["x-api-key"], "sk-ant-upstream", "the provider's key, not the caller's");
    assert.equal(sent.headers.authorization, undefined);
    assert.equal(sent.headers["anthropic-version"], "2023-06-01");
    assert.ok(sent.headers["anthropic-beta"].split(",").includes("mid-conversation-system-2026-04-07"), sent.headers["anthropic-beta"]);
    // Only model is rewritten: what chat has no place for reaches Anthropic.
    const body = JSON.parse(sent.body);
    assert.equal(body.model, "claude-opus-upstream");
    assert.equal(body.stream, true);
    assert.equal(body.thinking.type, "adaptive");
    assert.ok(body.output_config && body.context_management, Object.keys(body).join(" "));
    assert.match(body.system[0].text, /^x-anthropic-billing-header:/);
    assert.ok(body.system.some((b) => b.cache_control?.type === "ephemeral"));
    assert.ok(body.messages.some((m) => m.role === "system"), "the system message among the messages");
    assert.ok(body.tools.length >= 20);
  });
});
