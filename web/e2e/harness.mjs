// Starts what the end-to-end run needs: a fresh `nexus serve`, and (until the server serves
// web/dist itself) a tiny same-origin static server for web/dist that proxies /api to it.
//
// Set E2E_BASE_URL to drive an already running app instead, or E2E_SERVE=nexus to use the
// nexus process's own address as the app's (once it serves web/dist): nothing else changes.

import { spawn } from "node:child_process";
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const webDir = path.resolve(here, "..");
export const distDir = path.join(webDir, "dist");
export const nexusBin = process.env.NEXUS_BIN ?? path.resolve(webDir, "../target/debug/nexus");
export const fakeAiBin = process.env.NEXUS_FAKE_AI_BIN ?? path.resolve(webDir, "../target/debug/nexus-fake-ai");

// The server's own policy: the app must work under it (no inline scripts, no CDNs).
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix) {
  return mkdtempSync(path.join(os.tmpdir(), `nexus-e2e-${prefix}-`));
}

async function waitReady(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nexus exited early with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nexus was not ready at ${url}/readyz within ${timeoutMs} ms`);
}

export async function startNexus() {
  if (!existsSync(nexusBin)) {
    throw new Error(
      `No server binary at ${nexusBin}. Build it from the repository root: cargo build -p nexus-server --bin nexus`,
    );
  }
  const dataDir = tempDir("data");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logs = [];
  // The harness's own variables are not settings, and nexus refuses unknown NEXUS_* ones.
  const { NEXUS_BIN: _bin, NEXUS_FAKE_AI_BIN: _fakeBin, ...inherited } = process.env;
  const child = spawn(nexusBin, ["serve"], {
    env: {
      ...inherited,
      NEXUS_DATA_DIR: dataDir,
      NEXUS_LISTEN: `127.0.0.1:${port}`,
      NEXUS_ADMIN_EMAILS: "operator@example.com",
      NEXUS_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (d) => logs.push(String(d)));
  // Never leave a server behind, even if the run is interrupted.
  const killChild = () => child.exitCode === null && child.kill("SIGKILL");
  process.once("exit", killChild);
  for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => process.exit(130));
  await waitReady(url, child);
  return {
    url,
    logs,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill("SIGKILL");
            r();
          }, 5000);
          child.once("exit", () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Serve web/dist with an index.html fallback, proxying /api and /readyz to `apiUrl`. */
export async function startStatic(apiUrl) {
  if (!existsSync(path.join(distDir, "index.html"))) {
    throw new Error(`No build at ${distDir}. Run npm run build first.`);
  }
  const api = new URL(apiUrl);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname.startsWith("/api/") || url.pathname === "/readyz") {
      const upstream = http.request(
        {
          host: api.hostname,
          port: api.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: api.host },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      // A browser that aborts (Stop generating) must abort upstream too, as a direct
      // connection would: nexus notices and saves the partial answer.
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.on("error", () => {
        if (res.destroyed) return;
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "bad_gateway", message: "nexus is unreachable", details: {}, request_id: "" } }));
      });
      req.pipe(upstream);
      return;
    }
    let file = path.join(distDir, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ""));
    if (!file.startsWith(distDir) || !existsSync(file) || statSync(file).isDirectory()) {
      file = path.join(distDir, "index.html");
    }
    const ext = path.extname(file);
    res.writeHead(200, {
      "content-type": TYPES[ext] ?? "application/octet-stream",
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "cache-control": ext === ".html" ? "no-cache" : "public, max-age=31536000, immutable",
    });
    createReadStream(file).pipe(res);
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

/** The app under test: its base URL and how to stop everything started for it. */
export async function startApp() {
  if (process.env.E2E_BASE_URL) {
    return { baseUrl: process.env.E2E_BASE_URL.replace(/\/$/, ""), nexus: null, stop: async () => {} };
  }
  const nexus = await startNexus();
  if (process.env.E2E_SERVE === "nexus") {
    return { baseUrl: nexus.url, nexus, stop: () => nexus.stop() };
  }
  const web = await startStatic(nexus.url);
  return {
    baseUrl: web.url,
    nexus,
    stop: async () => {
      await web.stop();
      await nexus.stop();
    },
  };
}

/**
 * The fake OpenAI-compatible provider (`nexus-fake-ai`): echo answers, one word every
 * FAKE_AI_DELAY_MS (default 40) ms, models fake-small and fake-large, no key needed.
 */
export async function startFakeAi() {
  if (!existsSync(fakeAiBin)) {
    throw new Error(
      `No fake AI binary at ${fakeAiBin}. Build it from the repository root: cargo build -p nexus-testkit --bin nexus-fake-ai`,
    );
  }
  const port = await freePort();
  const logs = [];
  const child = spawn(fakeAiBin, [`127.0.0.1:${port}`], {
    env: { ...process.env, FAKE_AI_DELAY_MS: process.env.FAKE_AI_DELAY_MS ?? "40" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const killChild = () => child.exitCode === null && child.kill("SIGKILL");
  process.once("exit", killChild);
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`nexus-fake-ai printed no URL in 30 s: ${out}${logs.join("")}`)), 30_000);
    child.stdout.on("data", (d) => {
      out += String(d);
      const m = out.match(/https?:\/\/\S+/);
      if (m) {
        clearTimeout(t);
        resolve(m[0]);
      }
    });
    child.stderr.on("data", (d) => logs.push(String(d)));
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`nexus-fake-ai exited early with code ${code}: ${logs.join("")}`));
    });
  });
  return {
    url,
    logs,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGINT");
      await new Promise((r) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          r();
        }, 3000);
        child.once("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    },
  };
}
