// Gateways of a test's own: for clients that need a provider behind the
// gateway other than the conformance Caddyfile's mock, such as a loopback
// fake of an upstream's wire format. .ci/conformance sets LLM_GATEWAY_CADDY
// to the built gateway binary.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const caddyBinary = process.env.LLM_GATEWAY_CADDY;

// listen(server): the server listening on a free loopback port; resolves
// to its base URL.
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

// startFake(handle): an HTTP server on loopback that answers with
// handle(req, res, body), body being the request body as a string. Every
// request is kept in `requests` ({method, url, headers, body}).
export async function startFake(handle) {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      Promise.resolve(handle(req, res, body)).catch((err) => {
        res.writeHead(500, { "Content-Type": "text/plain" }).end(String(err));
      });
    });
  });
  const url = await listen(server);
  return {
    url,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// freePort(): a port no one listens on now, picked by the kernel.
async function freePort() {
  const server = createServer();
  const url = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return Number(new URL(url).port);
}

// startGateway(site): runs the built gateway with a Caddyfile whose site
// block is `http://127.0.0.1:<port> { <site> }` (admin off), and resolves
// once it answers. Returns { url, stop, log() }.
export async function startGateway(site) {
  if (!caddyBinary) {
    throw new Error("LLM_GATEWAY_CADDY is not set: run .ci/conformance, which builds the gateway");
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "llm-gateway-conformance-"));
  const caddyfile = join(dir, "Caddyfile");
  writeFileSync(caddyfile, `{\n\tadmin off\n\tpersist_config off\n}\n\nhttp://127.0.0.1:${port} {\n${site}\n}\n`);
  const child = spawn(caddyBinary, ["run", "--adapter", "caddyfile", "--config", caddyfile], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the gateway exited (${child.exitCode}):\n${output}`);
    }
    try {
      await fetch(`${url}/health`);
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`no answer from ${url} after 30 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    log: () => output,
    stop: async () => {
      child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
