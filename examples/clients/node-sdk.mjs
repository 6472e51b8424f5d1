// Calls the gateway with the official OpenAI Node SDK: a chat completion, a
// streamed one, and an error.
//
// Environment variables (all optional):
//   OPENAI_BASE_URL  the gateway's /v1 URL (default http://localhost:8080/v1)
//   OPENAI_API_KEY   a key the gateway accepts, when it has `auth keys`
//   MODEL            the model to ask for (default gpt-4o-mini)
//
// Run (Node 18 or later), with the gateway running:
//   mkdir -p /tmp/llm-client && cd /tmp/llm-client
//   npm install openai
//   cp /path/to/caddy-llm-gateway/examples/clients/node-sdk.mjs .
//   node node-sdk.mjs
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL || "http://localhost:8080/v1",
  // The SDK insists on a key; any value works when the gateway has no `auth keys`.
  apiKey: process.env.OPENAI_API_KEY || "unused",
});
const model = process.env.MODEL || "gpt-4o-mini";

// A chat completion.
const completion = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Hello from the Node SDK" }],
});
console.log("chat:", completion.choices[0].message.content);
console.log("usage:", completion.usage);

// A streamed chat completion: print each piece as it arrives.
const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Stream this answer word by word" }],
  stream: true,
  stream_options: { include_usage: true },
});
process.stdout.write("stream: ");
for await (const chunk of stream) {
  if (chunk.choices.length > 0) {
    process.stdout.write(chunk.choices[0].delta.content ?? "");
  } else if (chunk.usage) {
    process.stdout.write(`\nstream usage: ${JSON.stringify(chunk.usage)}`);
  }
}
process.stdout.write("\n");

// An error: the gateway answers in OpenAI's error shape, so the SDK raises
// its usual typed errors.
try {
  await client.chat.completions.create({ model, messages: [] });
} catch (err) {
  if (err instanceof OpenAI.APIError) {
    console.log(`error: status=${err.status} type=${err.type} param=${err.param}: ${err.error?.message}`);
  } else {
    throw err;
  }
}
