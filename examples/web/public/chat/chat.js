// A chat page for llm_gateway: plain JavaScript, no framework, no build.
// It streams answers from POST /v1/chat/completions with fetch and a
// ReadableStream reader, shows errors in OpenAI's shape, and the
// X-RateLimit-* headers of every answer.
//
// The gateway is this page's own origin, unless the URL says
// ?gateway=http://host:port: then every call is a cross-origin (CORS) one.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

$("gateway").value = params.get("gateway") || localStorage.getItem("gateway") || location.origin;
$("key").value = localStorage.getItem("key") || "";
$("model").value = localStorage.getItem("model") || $("model").value;
for (const id of ["gateway", "key", "model"]) {
  $(id).addEventListener("change", () => {
    localStorage.setItem(id, $(id).value.trim());
    if (id !== "model") loadModels();
  });
}

const gatewayURL = () => $("gateway").value.trim().replace(/\/+$/, "");
const headers = () => ({ Authorization: `Bearer ${$("key").value.trim()}`, "Content-Type": "application/json" });

function showOrigin() {
  const gw = new URL(gatewayURL(), location.href).origin;
  $("origin").textContent = gw === location.origin
    ? `Same origin as the gateway (${gw}).`
    : `This page (${location.origin}) calls the gateway at ${gw}: cross-origin, through CORS.`;
  $("origin").dataset.crossOrigin = String(gw !== location.origin);
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

// The rate-limit headers; null when the gateway has no limit or, across
// origins, when CORS does not expose them.
function showLimits(res) {
  const h = (name) => res.headers.get(name);
  $("rl-limit").textContent = h("X-RateLimit-Limit") ?? "–";
  $("rl-remaining").textContent = h("X-RateLimit-Remaining") ?? "–";
  const reset = h("X-RateLimit-Reset");
  $("rl-reset").textContent = reset ? new Date(Number(reset) * 1000).toLocaleTimeString() : "–";
  $("overhead").textContent = h("X-LLM-Gateway-Overhead-Ms") ?? "–";
}

// An error answer in OpenAI's shape: {"error":{"message","type","param","code"}}.
async function errorText(res) {
  let detail = res.statusText;
  try {
    const body = await res.json();
    if (body.error) detail = `${body.error.message}${body.error.code ? ` (${body.error.code})` : ""}`;
  } catch { /* not JSON */ }
  const retry = res.headers.get("Retry-After");
  return `HTTP ${res.status}: ${detail}${retry ? ` Retry after ${retry} s.` : ""}`;
}

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  div.textContent = text;
  $("log").append(div);
  div.scrollIntoView({ block: "end" });
  return div;
}

async function loadModels() {
  showOrigin();
  if (!$("key").value.trim()) return;
  try {
    const res = await fetch(`${gatewayURL()}/v1/models`, { headers: headers() });
    if (!res.ok) return showError(await errorText(res));
    const { data } = await res.json();
    $("models").replaceChildren(...data.map((m) => new Option(m.id, m.id)));
    showError("");
  } catch (err) {
    showError(`Cannot reach the gateway: ${err.message}`);
  }
}

const history = [];
let controller = null;

// Reads Server-Sent Events from the response body: events are separated by
// a blank line; each carries one `data:` line, a JSON chunk or [DONE].
async function readStream(res, onDelta) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const events = buffer.split("\n\n");
    buffer = events.pop(); // an incomplete event waits for the next read
    for (const event of events) {
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message); // failed mid-stream
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) onDelta(delta);
      }
    }
  }
}

$("ask").addEventListener("submit", async (e) => {
  e.preventDefault();
  const prompt = $("prompt").value.trim();
  if (!prompt || controller) return;
  showError("");
  $("prompt").value = "";
  addMessage("user", prompt);
  history.push({ role: "user", content: prompt });

  const answer = addMessage("assistant", "");
  answer.classList.add("streaming");
  answer.dataset.chunks = "0";
  controller = new AbortController();
  $("send").disabled = true;
  $("stop").disabled = false;
  try {
    const res = await fetch(`${gatewayURL()}/v1/chat/completions`, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ model: $("model").value.trim(), messages: history, stream: true }),
      signal: controller.signal,
    });
    showLimits(res);
    if (!res.ok) throw new Error(await errorText(res));
    await readStream(res, (delta) => {
      answer.textContent += delta;
      answer.dataset.chunks = String(Number(answer.dataset.chunks) + 1);
      answer.scrollIntoView({ block: "end" });
    });
    history.push({ role: "assistant", content: answer.textContent });
    answer.dataset.done = "true";
  } catch (err) {
    if (err.name !== "AbortError") showError(err.message);
    if (!answer.textContent) answer.remove();
    history.pop();
  } finally {
    answer.classList.remove("streaming");
    controller = null;
    $("send").disabled = false;
    $("stop").disabled = true;
  }
});

$("stop").addEventListener("click", () => controller?.abort());
$("prompt").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("ask").requestSubmit();
  }
});

loadModels();
