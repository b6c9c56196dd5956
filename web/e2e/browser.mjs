// Browser helpers for the end-to-end run: persistent Chromium contexts (one per person),
// watchers for console errors and failed requests, timed navigation and screenshots.

import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { tempDir, webDir } from "./harness.mjs";

export const screenshotDir = path.join(webDir, "e2e", "screenshots");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Problems seen in any browser: console errors, page errors, failed or unexpected requests. */
export const problems = [];
/** Page-ready timings, for the report. */
export const timings = [];

/**
 * Requests that may fail on purpose: `{method, path (RegExp), status, once}`. A signed-out
 * visit probes GET /me and gets 401: that one is always expected.
 */
const expected = [{ method: "GET", path: /^\/api\/v1\/me$/, status: 401, once: false }];
const expectedUrls = new Set();

export function expectFailure(method, pathRe, status) {
  expected.push({ method, path: pathRe, status, once: true });
}

/** Allow any number of such failures until the returned function is called. */
export function allowFailures(method, pathRe, status) {
  const entry = { method, path: pathRe, status, once: false };
  expected.push(entry);
  return () => expected.splice(expected.indexOf(entry), 1);
}

function isExpected(method, url, status) {
  const { pathname } = new URL(url);
  const i = expected.findIndex((e) => e.method === method && e.status === status && e.path.test(pathname));
  if (i === -1) return false;
  if (expected[i].once) expected.splice(i, 1);
  expectedUrls.add(url);
  return true;
}

/** Requests the page aborts on purpose (a stopped stream): `{method, path}`, once each. */
const expectedAborts = [];

export function expectAbort(method, pathRe) {
  expectedAborts.push({ method, path: pathRe });
}

function isExpectedAbort(method, url, reason) {
  if (!/ERR_ABORTED/.test(reason)) return false;
  const { pathname } = new URL(url);
  const i = expectedAborts.findIndex((e) => e.method === method && e.path.test(pathname));
  if (i === -1) return false;
  expectedAborts.splice(i, 1);
  return true;
}

/** Expectations registered but never met: the deliberate failure didn't happen. */
export function unmetExpectations() {
  return [...expected.filter((e) => e.once), ...expectedAborts.map((e) => ({ ...e, status: "aborted" }))];
}

const inflight = new WeakMap();

/** Wait until the page has no request in flight, so leaving it aborts nothing. */
export async function quiet(page, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  while (Date.now() < deadline && calm < 3) {
    calm = (inflight.get(page)?.size ?? 0) === 0 ? calm + 1 : 0;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Navigate like a person typing a URL, after the current page has finished its requests. */
export async function go(page, url) {
  await quiet(page);
  await page.goto(url);
}

export async function reload(page) {
  await quiet(page);
  await page.reload();
}

function watch(page, who) {
  const pending = new Set();
  inflight.set(page, pending);
  page.on("request", (req) => pending.add(req));
  page.on("requestfinished", (req) => pending.delete(req));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const loc = msg.location()?.url ?? "";
    // Chromium logs every 4xx fetch as "Failed to load resource"; the response check judges those.
    if (/Failed to load resource/.test(msg.text()) && (expectedUrls.has(loc) || loc.includes("/api/"))) return;
    problems.push(`[${who}] console error: ${msg.text()} ${loc}`);
  });
  page.on("pageerror", (err) => problems.push(`[${who}] page error: ${err.message}`));
  page.on("requestfailed", (req) => {
    pending.delete(req);
    const reason = req.failure()?.errorText ?? "failed";
    if (isExpectedAbort(req.method(), req.url(), reason)) return;
    problems.push(`[${who}] request failed: ${req.method()} ${req.url()} (${reason})`);
  });
  page.on("response", (res) => {
    const status = res.status();
    if (status < 400) return;
    const method = res.request().method();
    if (isExpected(method, res.url(), status)) return;
    problems.push(`[${who}] unexpected ${status}: ${method} ${res.url()}`);
  });
}

export async function openBrowser(who, baseUrl) {
  const dir = tempDir(`browser-${who}`);
  const context = await chromium.launchPersistentContext(dir, {
    executablePath,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 820 },
    colorScheme: "light",
    reducedMotion: "reduce",
    acceptDownloads: true,
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  watch(page, who);
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Run `action` (a click or a goto) and wait for `ready` (the page's main content, loaded:
 * not a skeleton). The time is recorded against `limitMs` and reported at the end, marked
 * when over: a measurement, not an assertion, since it depends on how busy the machine is
 * (a CI run on a slowed VM once took 1071 ms for a page that takes 350 ms).
 */
export async function timed(label, action, ready, limitMs = 1000) {
  const t0 = performance.now();
  await action();
  await ready.waitFor({ state: "visible" });
  const ms = Math.round(performance.now() - t0);
  timings.push({ label, ms, limitMs });
  return ms;
}

export function resetScreenshots() {
  rmSync(screenshotDir, { recursive: true, force: true });
  mkdirSync(screenshotDir, { recursive: true });
}

// Toasts pause while headless Chromium has no focus, so they pile up: keep them out of the shots.
const SHOT_STYLE = "li[data-variant], li[data-variant] * { visibility: hidden !important; }";

async function settle(page) {
  // Let theme changes and fonts paint; animations are off (reduced motion).
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** Screenshots of the page as it is, in light and in dark (the app follows the system). */
export async function shot(page, name, { fullPage = true, dark = true } = {}) {
  await page.emulateMedia({ colorScheme: "light" });
  await page.waitForFunction(() => !document.documentElement.classList.contains("dark"));
  await settle(page);
  await page.screenshot({ path: path.join(screenshotDir, `${name}-light.png`), fullPage, style: SHOT_STYLE });
  if (!dark) return;
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForFunction(() => document.documentElement.classList.contains("dark"));
  await settle(page);
  await page.screenshot({ path: path.join(screenshotDir, `${name}-dark.png`), fullPage, style: SHOT_STYLE });
  await page.emulateMedia({ colorScheme: "light" });
  await page.waitForFunction(() => !document.documentElement.classList.contains("dark"));
}
