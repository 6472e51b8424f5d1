// The gateway under test, from the environment .ci/conformance sets:
//   LLM_GATEWAY_URL          e.g. http://127.0.0.1:8090 (no /v1)
//   LLM_GATEWAY_KEY          a key of the conformance Caddyfile
//   LLM_GATEWAY_LIMITED_KEY  the key limited to 1 request an hour
// Without them every test is skipped with this message.
export const gatewayURL = process.env.LLM_GATEWAY_URL?.replace(/\/+$/, "");
export const key = process.env.LLM_GATEWAY_KEY;
export const limitedKey = process.env.LLM_GATEWAY_LIMITED_KEY;
export const baseURL = gatewayURL && `${gatewayURL}/v1`;
export const skip =
  gatewayURL && key
    ? false
    : "LLM_GATEWAY_URL and LLM_GATEWAY_KEY are not set: run .ci/conformance, which starts a gateway";

// What the conformance Caddyfile's fixed-reply model always answers.
export const FIXED_REPLY = "The quick brown fox jumps over the lazy dog.";
