// Loopback fakes of upstream wire formats that call a function tool, for
// tool round trips through a gateway of a test's own (gateway.mjs).
import { startChatFake, toolMessage } from "./chatfake.mjs";
import { startFake } from "./gateway.mjs";

// startChatToolFake({ tool, args, callId, answer }): an OpenAI
// chat-completions upstream (chatfake.mjs) that answers a request without a
// `tool` message with a call of `tool` with `args`, and one with a `tool`
// message with the text `answer`.
export function startChatToolFake({ tool, args, callId, answer }) {
  return startChatFake((chat) =>
    toolMessage(chat) ? { text: answer } : { toolCall: { id: callId, name: tool, args: JSON.stringify(args) } });
}

// chatToolGateway(fake, model): the site block of a gateway without auth
// whose `model` is answered through the openai provider by the fake, which
// has no /v1/responses: the provider translates.
export function chatToolGateway(fake, model) {
  return `\tllm_gateway {
\t\tprovider upstream openai {
\t\t\tbase_url ${fake.url}/v1
\t\t\tapi_key fake-upstream-key
\t\t\tresponses translate
\t\t}
\t\tmodel ${model} upstream
\t}`;
}

// startAnthropicFake({ thinking, toolUse, answer }): an Anthropic Messages
// upstream (POST /v1/messages) that answers with a signed thinking block,
// when the request turned thinking on, then with the `toolUse` block
// ({ id, name, input }) when one is given and the request carries no
// tool_result yet, else with the text `answer`; streamed when the request
// asks for it.
export async function startAnthropicFake({ thinking, toolUse, answer }) {
  return startFake((req, res, body) => {
    if (req.method !== "POST" || req.url !== "/v1/messages") {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: `the fake serves POST /v1/messages only, not ${req.method} ${req.url}` } }));
      return;
    }
    const request = JSON.parse(body);
    const blocks = [];
    if (request.thinking?.type === "enabled") blocks.push({ type: "thinking", thinking, signature: "fake-signature" });
    const replied = request.messages.some((m) => Array.isArray(m.content) && m.content.some((b) => b.type === "tool_result"));
    const calling = toolUse && !replied;
    blocks.push(calling ? { type: "tool_use", ...toolUse } : { type: "text", text: answer });
    const usage = { input_tokens: 1200, output_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 800 };
    const message = { id: "msg_fake", type: "message", role: "assistant", model: request.model, stop_sequence: null };
    if (!request.stream) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ...message, content: blocks, stop_reason: calling ? "tool_use" : "end_turn", usage }));
      return;
    }
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    const event = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    let out = event("message_start", { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } });
    blocks.forEach((block, index) => {
      if (block.type === "thinking") {
        out += event("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } });
        out += event("content_block_delta", { index, delta: { type: "thinking_delta", thinking: block.thinking } });
        out += event("content_block_delta", { index, delta: { type: "signature_delta", signature: block.signature } });
      } else if (block.type === "tool_use") {
        out += event("content_block_start", { index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } });
        out += event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) } });
      } else {
        out += event("content_block_start", { index, content_block: { type: "text", text: "" } });
        for (const word of block.text.split(/(?<= )/)) out += event("content_block_delta", { index, delta: { type: "text_delta", text: word } });
      }
      out += event("content_block_stop", { index });
    });
    out += event("message_delta", { delta: { stop_reason: calling ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
    res.end(out + event("message_stop", {}));
  });
}
