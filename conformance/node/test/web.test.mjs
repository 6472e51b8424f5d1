// examples/web in headless Chromium: the chat page served by Caddy's
// file_server beside the gateway streams an answer, and the same page on a
// second origin calls the gateway through the Caddyfile's CORS snippet.
//
// Environment (.ci/conformance sets it after starting examples/web/Caddyfile):
//   WEB_GATEWAY_URL  the gateway's site, e.g. http://localhost:8080
//   WEB_APP_URL      the second origin, e.g. http://localhost:3000
//   WEB_DEMO_KEY     the page's key
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   WEB_SCREENSHOT   where to save the screenshot (default ../out/web.png)
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const gateway = process.env.WEB_GATEWAY_URL?.replace(/\/+$/, "");
const app = process.env.WEB_APP_URL?.replace(/\/+$/, "");
const key = process.env.WEB_DEMO_KEY;
const skip = gateway && app && key ? false : "WEB_GATEWAY_URL, WEB_APP_URL and WEB_DEMO_KEY are not set: run .ci/conformance";
const here = dirname(fileURLToPath(import.meta.url));
const screenshot = process.env.WEB_SCREENSHOT || resolve(here, "../../out/web.png");

describe("examples/web chat page", { skip }, () => {
  let browser;
  before(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
  });
  after(async () => browser?.close());

  // Opens the page at url with the key typed in, and collects what the
  // browser reports (console errors, failed requests, preflights).
  async function open(url) {
    const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
    const seen = { consoleErrors: [], failed: [], methods: [] };
    page.on("console", (m) => m.type() === "error" && seen.consoleErrors.push(m.text()));
    page.on("pageerror", (e) => seen.consoleErrors.push(String(e)));
    page.on("requestfailed", (r) => seen.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    page.on("request", (r) => seen.methods.push(`${r.method()} ${new URL(r.url()).pathname}`));
    await page.goto(url);
    await page.fill("#key", key);
    await page.dispatchEvent("#key", "change");
    return { page, seen };
  }

  // Sends prompt and waits for the streamed answer; returns it and the
  // number of chunks the page received.
  async function ask(page, prompt) {
    const before = await page.locator(".msg.assistant").count();
    await page.fill("#prompt", prompt);
    await page.click("#send");
    const answer = page.locator(".msg.assistant").nth(before);
    // While streaming, a part of the answer is already on the page.
    await page.waitForFunction((i) => {
      const el = document.querySelectorAll(".msg.assistant")[i];
      return el && el.classList.contains("streaming") && el.textContent.length > 0;
    }, before, { timeout: 10_000 });
    const partial = await answer.textContent();
    await page.waitForFunction((i) => !document.querySelectorAll(".msg.assistant")[i].classList.contains("streaming"),
      before, { timeout: 15_000 });
    assert.equal(await answer.getAttribute("data-done"), "true", await page.textContent("#error"));
    return { partial, text: await answer.textContent(), chunks: Number(await answer.getAttribute("data-chunks")) };
  }

  test("same origin: the answer streams in, rate-limit headers are shown", async () => {
    const { page, seen } = await open(`${gateway}/chat/`);
    assert.equal(await page.getAttribute("#origin", "data-cross-origin"), "false");
    const prompt = "Streaming from the same origin works word by word";
    const { partial, text, chunks } = await ask(page, prompt);
    assert.equal(text, prompt); // the mock provider echoes the prompt
    assert.ok(partial.length < prompt.length, `saw "${partial}" before the end: the answer was not streamed`);
    assert.equal(chunks, prompt.split(" ").length);
    assert.equal(await page.textContent("#rl-limit"), "30");
    assert.match(await page.textContent("#rl-remaining"), /^\d+$/);
    assert.match(await page.textContent("#overhead"), /^\d+(\.\d+)?$/);
    assert.deepEqual(seen.consoleErrors, []);
    await page.close();
  });

  test("second origin: CORS preflight by Caddy, streamed answer, exposed headers, errors shown", async () => {
    const { page, seen } = await open(`${app}/chat/?gateway=${encodeURIComponent(gateway)}`);
    assert.equal(await page.getAttribute("#origin", "data-cross-origin"), "true");
    // The model list came from the gateway across origins.
    await page.waitForFunction(() => document.querySelectorAll("#models option").length > 0, null, { timeout: 5_000 });

    const prompt = "Hello from another origin, through CORS";
    const { text, chunks } = await ask(page, prompt);
    assert.equal(text, prompt);
    assert.ok(chunks > 1, `${chunks} chunks`);
    // Readable only because the CORS snippet exposes them.
    assert.equal(await page.textContent("#rl-limit"), "30");
    assert.match(await page.textContent("#rl-remaining"), /^\d+$/);
    assert.notEqual(await page.textContent("#rl-reset"), "–");
    assert.deepEqual(seen.failed, []);
    assert.deepEqual(seen.consoleErrors, []);

    // An error from the gateway reaches the page in OpenAI's shape.
    await page.fill("#model", "not-allowed");
    const errorsBefore = seen.consoleErrors.length;
    await page.fill("#prompt", "this must fail");
    await page.click("#send");
    await page.waitForSelector("#error:not([hidden])", { timeout: 5_000 });
    const error = await page.textContent("#error");
    assert.match(error, /^HTTP 404: .*\(model_not_found\)/);
    seen.consoleErrors.splice(errorsBefore); // the browser logs the 404 itself

    // Back to a good answer for the screenshot.
    await page.fill("#model", "chat");
    await ask(page, "Cross-origin streaming answered by the mock provider");
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.close();
  });

  test("the preflight is answered by Caddy with the CORS snippet's headers", async () => {
    const res = await fetch(`${gateway}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: {
        Origin: app,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), app);
    assert.match(res.headers.get("access-control-allow-headers"), /Authorization/);
    assert.match(res.headers.get("access-control-allow-methods"), /POST/);
    assert.match(res.headers.get("access-control-expose-headers"), /X-RateLimit-Remaining/);
  });
});
