// A loopback fake of an OpenAI-compatible chat upstream, for tests that
// put a gateway of their own in front of one (gateway.mjs): it answers
// POST /v1/chat/completions, streamed or not, with what answer(body)
// returns for the decoded request body:
//   { text }                      a text answer
//   { toolCall: { id, name, args } }  one tool call, args a JSON string
// With hold, a streamed answer waits until hold() resolves before its
// first chunk.
import { startFake } from "./gateway.mjs";

export const USAGE = { prompt_tokens: 21, completion_tokens: 7, total_tokens: 28 };

export function startChatFake(answer, { hold } = {}) {
  return startFake(async (req, res, raw) => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error" } }));
      return;
    }
    const body = JSON.parse(raw);
    const a = answer(body);
    const message = a.toolCall
      ? {
          role: "assistant",
          content: null,
          tool_calls: [{ id: a.toolCall.id, type: "function", function: { name: a.toolCall.name, arguments: a.toolCall.args } }],
        }
      : { role: "assistant", content: a.text };
    const finish = a.toolCall ? "tool_calls" : "stop";
    const base = { id: "chatcmpl-fake", created: 1700000000, model: body.model };
    if (!body.stream) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ...base, object: "chat.completion", usage: USAGE,
        choices: [{ index: 0, message, finish_reason: finish, logprobs: null }] }));
      return;
    }
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    if (hold) await hold();
    const chunk = (choices, extra = {}) =>
      res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices, ...extra })}\n\n`);
    chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
    if (a.toolCall) {
      const { id, name, args } = a.toolCall;
      const half = Math.floor(args.length / 2);
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id, type: "function", function: { name, arguments: args.slice(0, half) } }] }, finish_reason: null }]);
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args.slice(half) } }] }, finish_reason: null }]);
    } else {
      for (const word of a.text.split(/(?<= )/)) {
        chunk([{ index: 0, delta: { content: word }, finish_reason: null }]);
      }
    }
    chunk([{ index: 0, delta: {}, finish_reason: finish }]);
    if (body.stream_options?.include_usage) chunk([], { usage: USAGE });
    res.end("data: [DONE]\n\n");
  });
}

// toolMessage(body): the tool message of a chat request, or undefined
// when it has none.
export function toolMessage(body) {
  return body.messages.find((m) => m.role === "tool");
}
