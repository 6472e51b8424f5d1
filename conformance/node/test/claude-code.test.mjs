// Claude Code (@anthropic-ai/claude-code) with ANTHROPIC_BASE_URL set to a
// gateway of the test's own, offline: `claude -p "…" --output-format json`
// completes a turn backed by the mock provider, one backed by a loopback
// OpenAI-compatible fake, and one in which the fake has it run its Read
// tool on a file in a read-only folder and answers with the result.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { caddyBinary, startGateway } from "./gateway.mjs";
import { startChatFake, toolMessage, USAGE } from "./chatfake.mjs";

const claude = new URL("../node_modules/.bin/claude", import.meta.url).pathname;
const gatewayKey = "claude-code-test-key";
const MOCK_REPLY = "Hello from the mock.";
const FAKE_REPLY = "Hello from the OpenAI-compatible upstream.";
const SECRET = "The password is swordfish.";

describe("Claude Code through the gateway", { skip: !caddyBinary && "LLM_GATEWAY_CADDY not set: run .ci/conformance" }, () => {
  let fake, gateway, work, home;

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
    // Claude Code asks for dated names; prefix routes pick the upstream.
    gateway = await startGateway(`
	llm_gateway {
		provider fake openai {
			base_url ${fake.url}/v1
			api_key upstream-secret
		}
		provider fixed mock {
			reply "${MOCK_REPLY}"
		}
		model claude-haiku-* fixed
		model claude-* fake/gpt-fake
		auth keys {
			key ${gatewayKey} claude-code
		}
	}`);
  });
  after(async () => {
    await gateway?.stop();
    await fake?.close();
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
});
