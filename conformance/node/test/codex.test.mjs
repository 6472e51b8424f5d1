// Codex CLI (@openai/codex) with the gateway as its model provider
// (wire_api = "responses"): `codex exec` completes a turn against the
// conformance gateway's mock model, and against a gateway of the test's
// own whose model is Claude through a loopback fake of Anthropic's API.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { baseURL, key, skip } from "./env.mjs";
import { caddyBinary, startGateway } from "./gateway.mjs";
import { startAnthropicFake } from "./fakes.mjs";

const codexBinary = fileURLToPath(new URL("../node_modules/.bin/codex", import.meta.url));

// codexConfig: a config.toml that keeps Codex offline but for the
// gateway, and fails instead of retrying.
const codexConfig = ({ url, model }) => `model = "${model}"
model_provider = "gateway"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
unbounded_connection_retries = false

[model_providers.gateway]
name = "llm_gateway"
base_url = "${url}"
env_key = "LLM_GATEWAY_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`;

// codexExec({ url, apiKey, model, prompt }): runs one `codex exec` turn in
// a fresh CODEX_HOME and an empty working directory; resolves to its JSON
// events once it exited.
async function codexExec({ url, apiKey, model, prompt }) {
  const home = mkdtempSync(join(tmpdir(), "llm-gateway-codex-"));
  const work = join(home, "work");
  const codexHome = join(home, "codex");
  mkdirSync(work);
  mkdirSync(codexHome);
  writeFileSync(join(codexHome, "config.toml"), codexConfig({ url, model }));
  const args = ["exec", "--json", "--strict-config", "--skip-git-repo-check", "--ephemeral", "--sandbox", "read-only", prompt];
  // Only what Codex needs: no OPENAI_API_KEY or proxy of the caller's.
  const env = { PATH: process.env.PATH, HOME: home, CODEX_HOME: codexHome, LLM_GATEWAY_KEY: apiKey };
  const child = spawn(codexBinary, args, { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill(), 60_000);
  const code = await new Promise((resolve, reject) => {
    child.once("error", reject); // no codex binary: npm ci did not run
    child.once("close", resolve); // after its output is read
  }).finally(() => {
    clearTimeout(timer);
    rmSync(home, { recursive: true, force: true });
  });
  const events = stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  return { code, events, output: `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}` };
}

// agentMessages(events): the texts of the turn's final agent messages.
const agentMessages = (events) =>
  events.filter((e) => e.type === "item.completed" && e.item.type === "agent_message").map((e) => e.item.text);

describe("Codex CLI, Responses API", () => {
  test("a turn against the mock model", { skip }, async () => {
    const prompt = "Hello, gateway! Say hello back.";
    const run = await codexExec({ url: baseURL, apiKey: key, model: "gpt-4o-mini", prompt });
    assert.equal(run.code, 0, run.output);
    assert.deepEqual(agentMessages(run.events), [prompt], run.output); // the echo model
    const completed = run.events.find((e) => e.type === "turn.completed");
    assert.ok(completed, run.output);
    assert.equal(completed.usage.output_tokens, 5);
    assert.ok(!run.events.some((e) => e.type === "turn.failed" || e.type === "error"), run.output);
  });

  describe("a turn against Claude through a translating provider", { skip: !caddyBinary && "LLM_GATEWAY_CADDY is not set" }, () => {
    const answer = "Hello from Claude, through the gateway.";
    const thinking = "The user wants a greeting.";
    const toolUse = { id: "toolu_codex_1", name: "exec_command", input: { cmd: "echo conformance-ok" } };
    let fake, gateway;
    before(async () => {
      fake = await startAnthropicFake({ thinking, toolUse, answer });
      gateway = await startGateway(`\tllm_gateway {
\t\tprovider claude anthropic {
\t\t\tbase_url ${fake.url}
\t\t\tapi_key fake-anthropic-key
\t\t}
\t\tmodel gpt-5.5 claude/claude-sonnet-4-5
\t\tauth keys {
\t\t\tkey codex-gateway-key codex
\t\t}
\t}`);
    });
    after(async () => {
      await gateway?.stop();
      await fake?.close();
    });

    test("codex exec runs the command Claude asks for, then answers", async () => {
      const run = await codexExec({ url: `${gateway.url}/v1`, apiKey: "codex-gateway-key", model: "gpt-5.5", prompt: "Say hello." });
      assert.equal(run.code, 0, `${run.output}\ngateway log:\n${gateway.log()}`);
      assert.deepEqual(agentMessages(run.events), [answer], run.output);
      const items = run.events.filter((e) => e.type === "item.completed").map((e) => e.item);
      assert.deepEqual(
        items.map((i) => i.type),
        ["reasoning", "command_execution", "agent_message"],
        run.output,
      );
      assert.equal(items[0].text, thinking);
      assert.match(items[1].command, /echo conformance-ok/);
      assert.equal(items[1].exit_code, 0);
      assert.equal(items[1].aggregated_output, "conformance-ok\n");
      // Usage of both model calls: 1200 + 800 cached input tokens each.
      const completed = run.events.find((e) => e.type === "turn.completed");
      assert.equal(completed.usage.input_tokens, 4000);
      assert.equal(completed.usage.cached_input_tokens, 1600);
      assert.equal(completed.usage.output_tokens, 80);

      assert.equal(fake.requests.length, 2, gateway.log());
      const [first, second] = fake.requests.map((r) => JSON.parse(r.body));
      assert.equal(fake.requests[0].headers["x-api-key"], "fake-anthropic-key");
      assert.equal(first.model, "claude-sonnet-4-5");
      assert.equal(first.stream, true);
      // Codex asks for medium reasoning effort by default.
      assert.deepEqual(first.thinking, { type: "enabled", budget_tokens: 4096 });
      // Its developer messages became the system prompt; its function
      // tools went up, web_search and its other built-in tools did not.
      assert.match(first.system, /^You are Codex/);
      const tools = first.tools.map((t) => t.name);
      assert.ok(tools.includes("exec_command"), tools.join(", "));
      assert.ok(!tools.some((t) => ["web_search", "apply_patch", "tool_search"].includes(t)), tools.join(", "));
      assert.equal(first.messages.at(-1).role, "user");
      assert.equal(first.messages.at(-1).content.at(-1).text, "Say hello.");

      // The second call carries the tool call and the command's output.
      const [, call, result] = second.messages.slice(-3);
      assert.deepEqual(call, { role: "assistant", content: [{ type: "tool_use", ...toolUse }] });
      assert.equal(result.role, "user");
      assert.equal(result.content.length, 1);
      assert.equal(result.content[0].type, "tool_result");
      assert.equal(result.content[0].tool_use_id, "toolu_codex_1");
      assert.match(result.content[0].content, /Process exited with code 0\n[^]*Output:\nconformance-ok\n$/);
    });
  });
});
