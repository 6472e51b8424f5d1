// Loopback fakes of upstream wire formats that call a function tool, for
// tool round trips through a gateway of a test's own (gateway.mjs).
import { startFake } from "./gateway.mjs";

// startChatToolFake({ tool, args, callId, answer }): an OpenAI
// chat-completions upstream (under /v1) that answers a request without a
// `tool` message with a call of `tool` with `args`, and one with a `tool`
// message with the text `answer`; streamed when the request asks for it.
// Any other path gets a 404 that says what it was, so that a request the
// gateway did not translate fails loudly.
export async function startChatToolFake({ tool, args, callId, answer }) {
  return startFake((req, res, body) => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: { message: `the fake serves POST /v1/chat/completions only, not ${req.method} ${req.url}`, type: "invalid_request_error" } }));
      return;
    }
    const chat = JSON.parse(body);
    const replied = chat.messages.some((m) => m.role === "tool");
    const call = { id: callId, type: "function", function: { name: tool, arguments: JSON.stringify(args) } };
    const message = replied ? { role: "assistant", content: answer } : { role: "assistant", content: null, tool_calls: [call] };
    const finish = replied ? "stop" : "tool_calls";
    const usage = { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 };
    const head = { id: "chatcmpl-fake", created: 1796000000, model: chat.model };
    if (!chat.stream) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ...head, object: "chat.completion", choices: [{ index: 0, message, finish_reason: finish }], usage }));
      return;
    }
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    const chunk = (delta, finishReason = null) =>
      `data: ${JSON.stringify({ ...head, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
    let out = chunk({ role: "assistant", content: replied ? "" : null });
    if (replied) {
      for (const word of answer.split(/(?<= )/)) out += chunk({ content: word });
    } else {
      // The arguments in two pieces, as models stream them.
      const a = call.function.arguments;
      const half = Math.floor(a.length / 2);
      out += chunk({ tool_calls: [{ index: 0, id: callId, type: "function", function: { name: tool, arguments: a.slice(0, half) } }] });
      out += chunk({ tool_calls: [{ index: 0, function: { arguments: a.slice(half) } }] });
    }
    out += chunk({}, finish);
    out += `data: ${JSON.stringify({ ...head, object: "chat.completion.chunk", choices: [], usage })}\n\n`;
    res.end(out + "data: [DONE]\n\n");
  });
}

// chatToolGateway(fake, model): the site block of a gateway without auth
// whose `model` is answered through the openai provider by the fake.
export function chatToolGateway(fake, model) {
  return `\tllm_gateway {
\t\tprovider upstream openai {
\t\t\tbase_url ${fake.url}/v1
\t\t\tapi_key fake-upstream-key
\t\t}
\t\tmodel ${model} upstream
\t}`;
}
