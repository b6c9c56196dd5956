// End-to-end: the platform as people use it, in headless Chromium against a real nexus.
//
//   npm run build && npm run e2e
//
// Needs ../target/debug/nexus (cargo build -p nexus-server --bin nexus) and /usr/bin/chromium.
// Screenshots of every main page, light and dark, land in e2e/screenshots/.

import path from "node:path";
import { openBrowser, problems, resetScreenshots, screenshotDir, timings, unmetExpectations } from "./browser.mjs";
import { startApp, startFakeAi } from "./harness.mjs";
import { register as access } from "./steps-access.mjs";
import { register as admin } from "./steps-admin.mjs";
import { register as assistant, registerPhone as assistantPhone } from "./steps-assistant.mjs";
import { register as onboarding } from "./steps-onboarding.mjs";

const state = {};
const steps = [];
const step = (name, fn) => steps.push({ name, fn });
onboarding(step, state);
admin(step, state);
assistant(step, state);
assistantPhone(step, state);
access(step, state);

// ---------------------------------------------------------------------------------------------

async function main() {
  resetScreenshots();
  const fakeAi = await startFakeAi();
  state.fakeAiUrl = fakeAi.url;
  const app = await startApp().catch(async (err) => {
    await fakeAi.stop();
    throw err;
  });
  state.base = app.baseUrl;
  let passed = 0;
  let failed = 0;
  try {
    state.owner = await openBrowser("owner", state.base);
    state.invitee = await openBrowser("invitee", state.base);
    state.operator = await openBrowser("operator", state.base);
    for (const s of steps) {
      const t0 = performance.now();
      try {
        await s.fn();
        passed++;
        console.log(`ok   ${s.name} (${Math.round(performance.now() - t0)} ms)`);
      } catch (err) {
        failed++;
        console.log(`FAIL ${s.name}\n     ${String(err?.stack ?? err).split("\n").slice(0, 6).join("\n     ")}`);
        for (const who of ["owner", "invitee", "operator"]) {
          await state[who]?.page
            .screenshot({ path: path.join(screenshotDir, `failure-${who}.png`), fullPage: true })
            .catch(() => {});
        }
        break;
      }
    }
    const skipped = steps.length - passed - failed;
    // Let in-flight requests finish before judging them.
    await new Promise((r) => setTimeout(r, 300));
    if (problems.length > 0) {
      failed++;
      console.log(`FAIL no console errors and no failed requests\n     ${problems.join("\n     ")}`);
    } else {
      passed++;
      console.log("ok   no console errors and no failed requests");
    }
    const unmet = unmetExpectations();
    if (unmet.length > 0 && failed === 0) {
      failed++;
      console.log(`FAIL expected failures happened\n     ${unmet.map((e) => `${e.method} ${e.path} ${e.status}`).join("\n     ")}`);
    }
    console.log(`\npage-ready times: ${timings.map((t) => `${t.label} ${t.ms} ms`).join(", ")}`);
    const slow = timings.filter((t) => t.ms > t.limitMs);
    if (slow.length > 0) {
      console.log(`over their budget on this machine: ${slow.map((t) => `${t.label} ${t.ms} ms (budget ${t.limitMs} ms)`).join(", ")}`);
    }
    console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  } finally {
    for (const who of ["owner", "invitee", "operator"]) await state[who]?.close().catch(() => {});
    if (failed > 0 && app.nexus) console.log(`\nnexus log (tail):\n${app.nexus.logs.join("").split("\n").slice(-30).join("\n")}`);
    await app.stop();
    await fakeAi.stop();
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
