// Steps: the AI assistant against a real fake provider (nexus-fake-ai): switching it on,
// providers, streaming, stop, versions, ratings, saved prompts, deleting, public links, sharing, what a viewer may do,
// and AI usage.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { crc32, deflateSync } from "node:zlib";
import { allowFailures, expectAbort, expectFailure, go, openBrowser, shot, timed } from "./browser.mjs";
import { OWNER, nav, toastText } from "./common.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The last answer in the chat, and its text. */
const lastAnswer = (page) => page.locator('li[data-role="assistant"]').last();
const answerText = async (page) => ((await lastAnswer(page).locator("[data-answer]").textContent().catch(() => "")) ?? "").trim();
const composer = (page) => page.getByRole("textbox", { name: "Message", exact: true });

/** Wait until no answer is streaming (the Send button is back). */
async function answered(page, timeout = 20_000) {
  await page.getByRole("button", { name: "Send message" }).waitFor({ timeout });
  await page.waitForFunction(() => !document.querySelector('li[data-status="streaming"]'), null, { timeout });
}

/**
 * A `width` × `height` PNG of a colour gradient, made here (no image files in the
 * repository); `stored` leaves it uncompressed, as large as a phone's photo.
 */
function gradientPng(width, height, { stored = false } = {}) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = [0]; // no filter
    for (let x = 0; x < width; x++) row.push(Math.round((x / width) * 255), Math.round((y / height) * 255), 200);
    rows.push(...row);
  }
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.from(rows), { level: stored ? 0 : 6 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function send(page, text) {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

export function register(step, state) {
  const ws = () => `${state.base}/w/${state.wsId}`;

  step("the assistant, switched off, says so; the owner switches it on from there", async () => {
    const { page } = state.owner;
    // The admin steps switched it on; switch it off again to see what people see then.
    await go(page, `${ws()}/settings/modules`);
    const toggle = page.getByRole("switch", { name: /AI assistant/ });
    await toggle.waitFor();
    await toggle.click();
    await toastText(page, "AI assistant switched off").waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll("aside nav a")].some((a) => a.textContent === "Assistant"));

    const stop = allowFailures("GET", new RegExp(`^/api/v1/workspaces/${state.wsId}/conversations$`), 403);
    await go(page, `${ws()}/assistant`);
    await page.getByRole("heading", { name: "The assistant is switched off" }).waitFor();
    await shot(page, "30-assistant-off", { dark: false });
    await page.getByRole("button", { name: "Switch on the assistant" }).click();
    await toastText(page, "AI assistant switched on").waitFor();
    await page.getByText("No AI provider is set up yet").waitFor();
    stop();
    await nav(page, "Assistant").waitFor();
    assert.equal(await composer(page).count(), 0, "no composer without a provider");
    await page.getByRole("link", { name: "Set up AI providers" }).click();
    await page.getByRole("tab", { name: "AI", selected: true }).waitFor();
  });

  step("owner adds the fake provider, tests it and sets the AI defaults", async () => {
    const { page } = state.owner;
    await page.getByText("No AI providers yet").waitFor();
    await page.getByRole("button", { name: "Add provider" }).click();
    const dialog = page.getByRole("dialog", { name: "Add an AI provider" });
    await dialog.getByRole("button", { name: "Add provider" }).click();
    await dialog.getByText("Name the provider").waitFor();
    await dialog.getByText("List at least one model").waitFor();
    await dialog.getByLabel("Name").fill("Local fake");
    await dialog.getByLabel("Base URL").fill(state.fakeAiUrl);
    await dialog.getByLabel("Models").fill("fake-small, fake-large");
    await dialog.getByRole("button", { name: "Add provider" }).click();
    await toastText(page, "Provider added").waitFor();
    const row = page.locator('li[data-provider="Local fake"]');
    await row.getByText("fake-large").waitFor();
    await row.getByText("Healthy").waitFor();
    await row.getByText("No key").waitFor();

    await row.getByRole("button", { name: "Test" }).click();
    await row.getByText(/^Connected in \d+ ms$/).waitFor();
    await row.getByText(/Every configured model is available/).waitFor();

    // The same fake speaks Anthropic's Messages API: picking it fills Anthropic's address,
    // and the live test reaches the endpoint with Anthropic's headers.
    await page.getByRole("button", { name: "Add provider" }).click();
    const claude = page.getByRole("dialog", { name: "Add an AI provider" });
    await claude.getByLabel("Name").fill("Claude fake");
    await claude.getByRole("combobox", { name: "API" }).click();
    await page.getByRole("option", { name: /^Anthropic/ }).click();
    assert.equal(await claude.getByLabel("Base URL").inputValue(), "https://api.anthropic.com/v1");
    await claude.getByLabel("Base URL").fill(state.fakeAiUrl);
    await claude.getByLabel("Models").fill("fake-small");
    // Anthropic's prompt cache: offered for Anthropic only, on unless switched off.
    const caching = claude.getByRole("switch", { name: "Prompt caching" });
    assert.equal(await caching.getAttribute("aria-checked"), "true");
    await shot(page, "31-provider-anthropic", { fullPage: false, dark: false });
    await caching.click();
    await claude.getByRole("button", { name: "Add provider" }).click();
    await toastText(page, "Provider added").waitFor();
    const claudeRow = page.locator('li[data-provider="Claude fake"]');
    await claudeRow.locator('[data-api="anthropic"]').waitFor();
    await claudeRow.getByRole("button", { name: "Actions for Claude fake" }).click();
    await page.getByRole("menuitem", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit Claude fake" });
    assert.equal(await edit.getByRole("switch", { name: "Prompt caching" }).getAttribute("aria-checked"), "false");
    await edit.getByRole("button", { name: "Cancel" }).click();
    await edit.waitFor({ state: "detached" });
    await claudeRow.getByRole("button", { name: "Test" }).click();
    await claudeRow.getByText(/^Connected in \d+ ms$/).waitFor();
    // The check shows the endpoint's other models, each one click from being served.
    await shot(page, "31-provider-other-models", { fullPage: false, dark: false });
    await claudeRow.getByRole("button", { name: "Add fake-large to Claude fake" }).click();
    await toastText(page, "fake-large added").waitFor();
    await claudeRow.getByRole("list", { name: "Models of Claude fake" }).getByText("fake-large").waitFor();
    await claudeRow.locator("[data-other-models]").waitFor({ state: "detached" });
    await claudeRow.getByRole("button", { name: "Actions for Claude fake" }).click();
    await page.getByRole("menuitem", { name: "Remove" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Remove provider" }).click();
    await toastText(page, "Provider removed").waitFor();
    await claudeRow.waitFor({ state: "detached" });

    // AI defaults: the small model names conversations, the large one answers on request.
    await page.getByRole("combobox", { name: "Small model" }).click();
    await page.getByRole("option", { name: /^fake-small/ }).click();
    await page.getByRole("combobox", { name: "Large model" }).click();
    await page.getByRole("option", { name: /^fake-large/ }).click();
    await page.getByRole("button", { name: "Save defaults" }).click();
    await toastText(page, "AI defaults saved").waitFor();
    await shot(page, "31-settings-ai");
  });

  step("owner chats: the answer streams in word by word, then the conversation gets a title", async () => {
    const { page } = state.owner;
    await timed("assistant page", () => nav(page, "Assistant").click(), composer(page));
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    const question =
      "Please help me plan a short team offsite in Lisbon next spring with a budget for twelve people and a day of workshops about our product roadmap and hiring";
    await send(page, question);
    // Optimistic: the question shows before any answer.
    await page.locator('li[data-role="user"]').getByText(question).waitFor({ timeout: 1000 });
    const expected = `Echo: ${question}`;
    const seen = [];
    const deadline = Date.now() + 15_000;
    for (;;) {
      const text = await answerText(page);
      if (seen[seen.length - 1] !== text.length) seen.push(text.length);
      if (text === expected) break;
      assert.ok(Date.now() < deadline, `the answer never completed (last: ${text})`);
      await sleep(60);
    }
    const growing = seen.filter((n) => n > 0 && n < expected.length);
    assert.ok(growing.length >= 3, `the answer grew in steps (lengths seen: ${seen.join(", ")})`);
    assert.ok(growing.every((n, i) => i === 0 || n > growing[i - 1]), `lengths only grow (${seen.join(", ")})`);
    await answered(page);
    state.privateChat = page.url().match(/\/assistant\/([0-9a-f-]+)$/)?.[1];
    assert.ok(state.privateChat, `the chat has its own URL (${page.url()})`);

    // The title is written just after the first answer.
    await page.waitForFunction(
      () => {
        const t = document.querySelector("[data-chat-title]")?.textContent?.trim() ?? "";
        return t !== "" && t !== "New chat" && t !== "New conversation";
      },
      null,
      { timeout: 15_000 },
    );
    state.privateTitle = (await page.locator("[data-chat-title]").textContent()).trim();
    await page.locator(`li[data-conversation-id="${state.privateChat}"]`).getByText(state.privateTitle).waitFor();
  });

  step("a code block in an answer is highlighted and copies with its button; math is typeset, money is not", async () => {
    const { page } = state.owner;
    await send(page, "Here is the helper:\n\n```js\nfunction greet(name) {\n  return `Hello, ${name}!`;\n}\n```\n\nCan you check it? It costs $5 or $10, and a circle's area is $\\pi r^2$.");
    await answered(page);
    // The formula, as MathML from KaTeX's own chunk (the page's CSP lets it load and draw).
    const formula = lastAnswer(page).locator("math");
    await formula.waitFor();
    assert.equal(await formula.count(), 1);
    assert.ok((await answerText(page)).includes("It costs $5 or $10"), "money stays text");
    const block = lastAnswer(page).locator("[data-code-block]");
    await block.waitFor();
    assert.ok((await block.locator(".hljs-keyword").count()) > 0, "the code is highlighted");
    await block.getByRole("button", { name: "Copy js code" }).click();
    await block.getByRole("button", { name: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "function greet(name) {\n  return `Hello, ${name}!`;\n}");
    // Details: counts follow the conversation.
    await page.locator('[data-detail="messages"]').getByText("4", { exact: true }).waitFor();
    // The conversation list's buttons and search box stay inside its panel.
    const list = await page.getByRole("complementary", { name: "Conversations" }).boundingBox();
    for (const control of [page.getByRole("button", { name: "New chat" }).first(), page.getByRole("searchbox", { name: "Search conversations" })]) {
      const box = await control.boundingBox();
      assert.ok(box.x + box.width <= list.x + list.width, `a control ends ${box.x + box.width - list.x - list.width}px past the conversation list`);
    }
    await shot(page, "32-assistant-chat");
  });

  step("the conversation downloads as Markdown and as JSON from its details", async () => {
    const { page } = state.owner;
    const details = page.locator("section[aria-labelledby=export-heading]");
    const [markdown] = await Promise.all([page.waitForEvent("download"), details.getByRole("link", { name: "Markdown" }).click()]);
    assert.match(markdown.suggestedFilename(), /\.md$/);
    const text = await readFile(await markdown.path(), "utf8");
    assert.ok(text.startsWith(`# ${state.privateTitle}\n`), text.slice(0, 200));
    assert.ok(text.includes("## You · "), "each message has its heading");
    assert.ok(text.includes("```js\nfunction greet(name) {"), "the code block is kept as written");
    const [json] = await Promise.all([page.waitForEvent("download"), details.getByRole("link", { name: "JSON" }).click()]);
    assert.match(json.suggestedFilename(), /\.json$/);
    const exported = JSON.parse(await readFile(await json.path(), "utf8"));
    assert.equal(exported.conversation.id, state.privateChat);
    assert.equal(exported.messages.length, 4);

    // The JSON comes back in as a new conversation of one's own, opened at once.
    await page.getByTestId("import-file").setInputFiles({ name: "chat.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(exported)) });
    await toastText(page, "Imported").waitFor();
    await page.waitForURL((url) => /\/assistant\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(state.privateChat));
    const copy = page.url().split("/").at(-1);
    await page.locator("[data-code-block]").first().waitFor();
    await page.locator('[data-detail="messages"]').getByText("4", { exact: true }).waitFor();
    // It goes again, and the original is where it was.
    const row = page.locator(`li[data-conversation-id="${copy}"]`);
    await row.hover();
    await row.getByRole("button", { name: /^Actions for/ }).click();
    await page.getByRole("menuitem", { name: "Delete" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Delete conversation" }).click();
    await toastText(page, "Conversation deleted").waitFor();
    await row.waitFor({ state: "detached" });
    await page.locator(`li[data-conversation-id="${state.privateChat}"] a`).click();
    await page.locator('[data-detail="messages"]').getByText("4", { exact: true }).waitFor();
  });

  step("a reasoning model's thoughts stream in above the answer, then fold away", async () => {
    const { page } = state.owner;
    // The fake provider thinks over a message that starts so ("Pondering <the rest>").
    await send(page, "Think it over: which week suits the offsite");
    const thoughts = lastAnswer(page).locator("details[data-reasoning]");
    await thoughts.waitFor();
    await answered(page);
    assert.equal(await answerText(page), "Echo: Think it over: which week suits the offsite");
    assert.equal(await thoughts.getAttribute("open"), null, "folded away once the answer came");
    await thoughts.getByText("Thought process").click();
    await thoughts.getByText("Pondering which week suits the offsite").waitFor();
    // Saved with the answer: still there after a reload.
    await page.reload();
    await lastAnswer(page).locator("details[data-reasoning]").getByText("Thought process").click();
    await lastAnswer(page).getByText("Pondering which week suits the offsite").waitFor();
  });

  step("a long answer stops on Stop and is marked interrupted", async () => {
    const { page } = state.owner;
    const words = Array.from({ length: 200 }, (_, i) => `word${i + 1}`).join(" ");
    await send(page, words);
    await page.getByRole("button", { name: "Stop generating" }).waitFor();
    await page.waitForFunction(() => {
      const answers = document.querySelectorAll('li[data-role="assistant"]');
      return (answers[answers.length - 1]?.textContent ?? "").includes("word20");
    });
    // Scrolling up to read stops the view from following; "Jump to latest" brings it back.
    const region = page.getByRole("region", { name: "Messages" });
    await region.hover();
    await page.mouse.wheel(0, -600);
    const jump = page.getByRole("button", { name: "Jump to latest" });
    await jump.waitFor();
    const readingAt = await region.evaluate((el) => el.scrollTop);
    await sleep(300);
    assert.ok((await region.evaluate((el) => el.scrollTop)) <= readingAt + 1, "the view stays where the person reads");
    await jump.click();
    await jump.waitFor({ state: "detached" });
    expectAbort("POST", new RegExp(`^/api/v1/workspaces/${state.wsId}/conversations/[0-9a-f-]+/messages$`));
    await page.getByRole("button", { name: "Stop generating" }).click();
    await lastAnswer(page).getByText("Interrupted").waitFor();
    await page.getByRole("button", { name: "Send message" }).waitFor();
    // The saved partial answer replaces the one on screen (the server may have had a word more).
    await page.waitForFunction(() => {
      const answers = document.querySelectorAll('li[data-role="assistant"]');
      const last = answers[answers.length - 1];
      return last && !last.hasAttribute("data-live");
    });
    const stopped = await answerText(page);
    await sleep(800);
    assert.equal(await answerText(page), stopped, "nothing arrives after Stop");
    assert.ok(!stopped.includes("word200"), "the answer ended early");
    assert.equal(await lastAnswer(page).getAttribute("data-status"), "interrupted");
  });

  step("edit and resend, and regenerate, keep the old versions behind switchers", async () => {
    const { page } = state.owner;
    const user = page.locator('li[data-role="user"]').last();
    await user.hover();
    await user.getByRole("button", { name: "Edit and resend" }).click();
    const edit = user.getByRole("textbox", { name: "Edit your message" });
    await edit.fill("Just a short one, please");
    await user.getByRole("button", { name: "Send edit" }).click();
    await answered(page);
    assert.equal(await answerText(page), "Echo: Just a short one, please");
    const messageVersions = page.getByRole("group", { name: "Message version 2 of 2" });
    await messageVersions.waitFor();

    await lastAnswer(page).getByRole("button", { name: "Regenerate answer" }).click();
    await page.getByRole("group", { name: "Answer version 2 of 2" }).waitFor({ timeout: 20_000 });
    await answered(page);
    assert.equal(await answerText(page), "Echo: Just a short one, please");
    await shot(page, "33-assistant-versions", { dark: false });

    // Back to the first answer, then to the first version of the question (the stopped one).
    await page.getByRole("group", { name: "Answer version 2 of 2" }).getByRole("button", { name: "Previous version" }).click();
    await page.getByRole("group", { name: "Answer version 1 of 2" }).waitFor();
    await page.getByRole("group", { name: "Message version 2 of 2" }).getByRole("button", { name: "Previous version" }).click();
    await page.getByRole("group", { name: "Message version 1 of 2" }).waitFor();
    await lastAnswer(page).getByText("Interrupted").waitFor();
    await page.getByRole("group", { name: "Message version 1 of 2" }).getByRole("button", { name: "Next version" }).click();
    await page.getByRole("group", { name: "Message version 2 of 2" }).waitFor();
  });

  step("owner rates an answer thumbs down, says why, and the rating stays", async () => {
    const { page } = state.owner;
    const rated = lastAnswer(page);
    state.ratedAnswer = await rated.getAttribute("data-message-id");
    // The requests' bodies are streamed, out of the browser's sight: they are told apart by order.
    // Each rating saved is followed by a read of the messages (what the server kept).
    const ratingSaved = () => page.waitForResponse((r) => r.request().method() === "PUT" && r.url().endsWith("/feedback"));
    const reread = () => page.waitForResponse((r) => r.request().method() === "GET" && new URL(r.url()).pathname.endsWith("/messages"));
    await rated.hover();
    let [rating, read] = [ratingSaved(), reread()];
    await rated.getByRole("button", { name: "Bad answer" }).click();
    assert.equal((await rating).status(), 200);
    await read;
    const why = page.getByRole("textbox", { name: /What was wrong with it\?/ });
    await why.waitFor();
    await page.getByText("Your rating and comment are shown to the workspace's admins.").waitFor();
    await shot(page, "38-assistant-feedback", { dark: false });
    await why.fill("Too short for the offsite plan");
    [rating, read] = [ratingSaved(), reread()];
    await why.press("Enter");
    await why.waitFor({ state: "detached" });
    assert.equal((await rating).status(), 200);
    await read;
    // Saved: a fresh load shows it pressed.
    await page.reload();
    const again = page.locator(`li[data-message-id="${state.ratedAnswer}"]`);
    await again.getByRole("button", { name: "Bad answer", pressed: true }).waitFor();
    assert.equal(await again.getByRole("button", { name: "Good answer", pressed: true }).count(), 0);
  });

  step("owner saves a prompt for the team and picks it with / in the message box", async () => {
    const { page } = state.owner;
    await page.getByRole("button", { name: "Saved prompts" }).click();
    const library = page.getByRole("dialog", { name: "Saved prompts" });
    await library.getByRole("button", { name: "New prompt" }).click();
    const form = page.getByRole("dialog", { name: "New prompt" });
    await form.getByRole("textbox", { name: "Title" }).fill("Weekly update");
    await form.getByRole("textbox", { name: "Text" }).fill("Write this week's update for the team:");
    await form.getByRole("switch", { name: "Share with the workspace" }).click();
    await form.getByRole("button", { name: "Add prompt" }).click();
    await toastText(page, "Prompt added").waitFor();
    await library.getByRole("list", { name: "Saved prompts" }).getByText("Weekly update").waitFor();
    await library.getByRole("button", { name: "Close" }).click();
    await library.waitFor({ state: "detached" });

    await composer(page).fill("");
    await composer(page).pressSequentially("/week");
    const menu = page.getByRole("listbox", { name: "Saved prompts" });
    await menu.getByRole("option", { name: /Weekly update/ }).waitFor();
    await shot(page, "39-assistant-prompts", { dark: false });
    await composer(page).press("Enter");
    await menu.waitFor({ state: "detached" });
    assert.equal(await composer(page).inputValue(), "Write this week's update for the team:");
    await composer(page).fill("");
  });

  step("owner deletes an exchange: asked first, the conversation ends where it did before", async () => {
    const { page } = state.owner;
    await send(page, "A question to take back");
    await answered(page);
    const answer = lastAnswer(page);
    assert.notEqual(await answer.getAttribute("data-message-id"), state.ratedAnswer);
    await answer.hover();
    await answer.getByRole("button", { name: "Delete message" }).click();
    const confirm = page.getByRole("alertdialog", { name: "Delete this answer and its question?" });
    await confirm.getByText("2 messages here", { exact: false }).waitFor();
    await confirm.getByRole("button", { name: "Delete" }).click();
    await confirm.waitFor({ state: "detached" });
    await page.locator('li[data-role="user"]').getByText("A question to take back").waitFor({ state: "detached" });
    assert.equal(await lastAnswer(page).getAttribute("data-message-id"), state.ratedAnswer);
    await page.waitForFunction(() => document.activeElement?.id === "composer");
  });

  step("owner attaches a picture and a text file: the model reads the file, the picture shows, the file downloads", async () => {
    const { page } = state.owner;
    // A real PNG: the browser must be able to draw what the server serves back.
    await page.getByRole("button", { name: "Attach files" }).waitFor();
    // A photo too large to send (15 MB) goes as a smaller JPEG.
    await page.getByTestId("attach-input").setInputFiles([
      { name: "sketch.png", mimeType: "image/png", buffer: gradientPng(120, 80) },
      { name: "photo.png", mimeType: "image/png", buffer: gradientPng(2600, 2000, { stored: true }) },
    ]);
    const box = page.locator("form").filter({ has: composer(page) });
    const attached = box.getByRole("list", { name: "Attached files" });
    await attached.getByText("sketch.png").waitFor();
    await attached.getByText("photo.jpg").waitFor();
    // A file dropped on the conversation, not only on the box, is attached (not opened).
    const dropped = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["Day one: planning"], "agenda.md", { type: "text/markdown" }));
      return dt;
    });
    await page.getByRole("region", { name: "Messages" }).dispatchEvent("drop", { dataTransfer: dropped });
    await attached.getByText("agenda.md").waitFor();
    await send(page, "Summarise the agenda");
    await answered(page);
    // The fake provider echoes the question's text: the file's words went with it.
    assert.ok((await answerText(page)).includes("planning"), await answerText(page));
    assert.equal(await box.getByRole("list", { name: "Attached files" }).count(), 0, "the box is empty again");
    const question = page.locator('li[data-role="user"]').last();
    // Saved, the picture comes from the server and draws.
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('li[data-role="user"]')].at(-1)?.querySelectorAll("img") ?? [];
      const drawn = [...imgs].map((img) => img.complete && img.src.includes("/attachments/") && img.naturalWidth);
      return drawn.join() === "120,2048";
    });
    await shot(page, "41-assistant-attachments", { fullPage: false, dark: false });
    const [download] = await Promise.all([page.waitForEvent("download"), question.getByRole("link", { name: /agenda\.md/ }).click()]);
    assert.equal(download.suggestedFilename(), "agenda.md");
    assert.equal(await readFile(await download.path(), "utf8"), "Day one: planning");
    // Taken back, so the steps after see the conversation as before.
    const answer = lastAnswer(page);
    await answer.hover();
    await answer.getByRole("button", { name: "Delete message" }).click();
    const confirm = page.getByRole("alertdialog");
    await confirm.getByRole("button", { name: "Delete" }).click();
    await confirm.waitFor({ state: "detached" });
    await question.getByText("Summarise the agenda").waitFor({ state: "detached" });
  });

  step("owner makes a public link; a stranger reads it without signing in, until it is deleted", async () => {
    const { page } = state.owner;
    const details = page.getByRole("complementary", { name: "Conversation details" });
    const section = details.getByRole("region", { name: "Public link" });
    await section.getByRole("button", { name: "Create public link" }).click();
    await toastText(page, "Public link created").waitFor();
    const url = await section.getByRole("textbox", { name: "Public link" }).inputValue();
    assert.match(url, new RegExp(`^${state.base}/shared/[A-Za-z0-9_-]{43}$`));
    const marked = page.locator(`li[data-conversation-id="${state.privateChat}"]`).getByLabel("Readable by public link");
    await marked.waitFor();

    const stranger = await openBrowser("stranger", state.base);
    try {
      await go(stranger.page, url);
      await stranger.page.getByRole("heading", { level: 1, name: state.privateTitle }).waitFor();
      await stranger.page.locator('li[data-role="assistant"]').first().locator("[data-answer]").waitFor();
      assert.equal(await stranger.page.getByRole("button", { name: /Edit and resend|Regenerate answer|Delete message|Bad answer/ }).count(), 0);
      await shot(stranger.page, "40-shared-conversation", { dark: false });

      await section.getByRole("button", { name: "Delete link" }).click();
      await page.getByRole("alertdialog").getByRole("button", { name: "Delete link" }).click();
      await toastText(page, "Public link deleted").waitFor();
      await marked.waitFor({ state: "detached" });
      expectFailure("GET", /^\/api\/v1\/shared\/[A-Za-z0-9_-]+$/, 404);
      await go(stranger.page, url);
      await stranger.page.getByText("This link doesn't work").waitFor();
    } finally {
      await stranger.close();
    }
  });

  step("owner starts a second chat and shares it; keyboard shortcuts work", async () => {
    const { page } = state.owner;
    await composer(page).focus();
    await page.keyboard.press("Control+Shift+O");
    await page.waitForURL(/\/assistant$/);
    await page.getByRole("heading", { name: "What can I help with?" }).waitFor();
    await send(page, "Notes for the whole team");
    await answered(page);
    await page.waitForURL(/\/assistant\/[0-9a-f-]+$/);
    state.sharedChat = page.url().match(/\/assistant\/([0-9a-f-]+)$/)[1];
    const share = page.getByRole("switch", { name: "Share with the workspace" });
    await share.click();
    await toastText(page, "Shared with the workspace").waitFor();
    await page.locator(`li[data-conversation-id="${state.sharedChat}"]`).getByLabel("Shared with the workspace").waitFor();

    // Pin it: pinned conversations come first.
    const row = page.locator(`li[data-conversation-id="${state.sharedChat}"]`);
    await row.hover();
    await row.getByRole("button", { name: /^Actions for/ }).click();
    await page.getByRole("menuitem", { name: "Pin" }).click();
    await toastText(page, "Pinned").waitFor();
    await page.getByRole("list", { name: "Pinned conversations" }).locator(`li[data-conversation-id="${state.sharedChat}"]`).waitFor();

    // Rename it; archive the first chat (it leaves the list) and find it under "Show archived".
    await row.hover();
    await row.getByRole("button", { name: /^Actions for/ }).click();
    await page.getByRole("menuitem", { name: "Rename" }).click();
    const rename = page.getByRole("dialog", { name: "Rename conversation" });
    await rename.getByLabel("Name").fill("Team notes");
    await rename.getByRole("button", { name: "Rename" }).click();
    await toastText(page, "Renamed").waitFor();
    await page.locator("[data-chat-title]").getByText("Team notes", { exact: true }).waitFor();
    const first = page.locator(`li[data-conversation-id="${state.privateChat}"]`);
    await first.hover();
    await first.getByRole("button", { name: /^Actions for/ }).click();
    await page.getByRole("menuitem", { name: "Archive" }).click();
    await toastText(page, "Archived").waitFor();
    await first.waitFor({ state: "detached" });
    await page.getByRole("switch", { name: "Show archived" }).click();
    await page.getByRole("list", { name: "Archived conversations" }).locator(`li[data-conversation-id="${state.privateChat}"]`).hover();
    await page.locator(`li[data-conversation-id="${state.privateChat}"]`).getByRole("button", { name: /^Actions for/ }).click();
    await page.getByRole("menuitem", { name: "Unarchive" }).click();
    await toastText(page, "Moved out of the archive").waitFor();
    await page.getByRole("switch", { name: "Show archived" }).click();
    await page.locator(`li[data-conversation-id="${state.privateChat}"]`).waitFor();

    // Ctrl+K searches titles and message text.
    await page.locator("body").click({ position: { x: 5, y: 400 } }).catch(() => {});
    await page.keyboard.press("Control+k");
    const search = page.getByRole("searchbox", { name: "Search conversations" });
    await page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Search conversations");
    await search.fill("offsite");
    const result = page.getByRole("list", { name: "Search results" }).locator(`li[data-conversation-id="${state.privateChat}"]`);
    await result.waitFor();
    assert.equal(await page.locator(`li[data-conversation-id="${state.sharedChat}"]`).count(), 0);
    // Each result found in a message shows the words there, marked.
    assert.equal((await result.locator("[data-match] mark").first().textContent())?.toLowerCase(), "offsite");
    await shot(page, "37-assistant-search");
    // Opening the result shows the message that matched, outlined, with the words marked.
    const matched = await result.locator("a").getAttribute("href");
    assert.match(matched ?? "", /\?m=[0-9a-f-]{36}&q=offsite$/);
    await result.locator("a").click();
    const target = page.locator("li[data-search-target]");
    await target.waitFor();
    assert.equal(await target.getAttribute("data-message-id"), new URLSearchParams(matched.split("?")[1]).get("m"));
    await page.waitForFunction(() => {
      const marked = CSS.highlights.get("search-match");
      return marked && [...marked].some((r) => r.toString().toLowerCase() === "offsite");
    });
    await search.fill("");
    // "/" puts the cursor in the composer.
    await page.getByRole("heading", { level: 1 }).click();
    await page.keyboard.press("/");
    await page.waitForFunction(() => document.activeElement?.id === "composer");
  });

  step("a viewer reads the shared conversation but cannot chat, and never sees private ones", async () => {
    const { page } = state.invitee;
    await timed("assistant page (viewer)", () => go(page, `${ws()}/assistant`), page.locator(`li[data-conversation-id="${state.sharedChat}"]`));
    assert.equal(await page.locator("li[data-conversation-id]").count(), 1, "only the shared conversation is listed");
    assert.equal(await page.getByRole("button", { name: /New chat/ }).count(), 0);
    await page.locator(`li[data-conversation-id="${state.sharedChat}"] a`).click();
    await page.getByText("Echo: Notes for the whole team").waitFor();
    await page.getByText(/Viewers can't chat/).waitFor();
    assert.equal(await composer(page).count(), 0, "no composer for a viewer");
    assert.equal(await page.getByRole("button", { name: "Regenerate answer" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Bad answer" }).count(), 0, "viewers do not rate");
    await shot(page, "34-viewer-shared-chat", { dark: false });

    expectFailure("GET", new RegExp(`^/api/v1/workspaces/${state.wsId}/conversations/${state.privateChat}$`), 404);
    expectFailure("GET", new RegExp(`^/api/v1/workspaces/${state.wsId}/conversations/${state.privateChat}/messages$`), 404);
    await go(page, `${ws()}/assistant/${state.privateChat}`);
    await page.getByRole("heading", { name: "Not found", exact: true }).waitFor();
    assert.equal(await page.getByText(state.privateTitle).count(), 0, "the private title never shows");
    // The API agrees: a viewer cannot send, even to a shared conversation.
    const session = await (await page.context().request.get(`${state.base}/api/v1/me`)).json();
    const res = await page.context().request.post(`${state.base}/api/v1/workspaces/${state.wsId}/conversations/${state.sharedChat}/messages`, {
      headers: { "X-CSRF-Token": session.csrf_token },
      data: { content: "let me in" },
    });
    assert.equal(res.status(), 403);
  });

  step("owner sees AI usage: tokens per day and per member, models, the month's quota", async () => {
    const { page } = state.owner;
    await timed("AI usage page", () => nav(page, "AI usage").click(), page.getByRole("img", { name: "Tokens per day" }));
    const bars = await page.locator('[role="img"][aria-label="Tokens per day"] [data-bar] rect[class*="fill-primary"]').count();
    assert.ok(bars >= 1, `tokens per day has bars (${bars})`);
    await page.getByRole("img", { name: "Tokens per member" }).getByText(OWNER.email, { exact: true }).waitFor();
    await page.getByRole("table", { name: "Usage by model" }).getByText("fake-small").waitFor();
    // Later turns and regenerations repeat a prompt's start, which the provider's prompt
    // cache serves: the table says how much.
    await page.getByRole("table", { name: "Usage by model" }).getByText(/\d from prompt cache$/).first().waitFor();
    await page.getByText(/^[\d,]+ prompt tokens read from providers' prompt caches$/).waitFor();
    const used = Number((await page.locator("[data-quota-used]").textContent()).replace(/\D/g, ""));
    assert.ok(used > 0, "the quota counts what was used");
    await page.getByRole("progressbar", { name: "Monthly AI tokens used" }).waitFor();
    // Nothing hidden (the charts' tables for screen readers) stretches the page past its
    // content.
    const overflow = await page.evaluate(() => {
      const shell = document.querySelector("#main").parentElement.parentElement;
      return document.documentElement.scrollHeight - shell.getBoundingClientRect().height;
    });
    assert.ok(overflow <= 1, `the page scrolls ${overflow}px past its content`);
    await shot(page, "35-ai-usage");

    // The rating, by model and with its comment, which opens the answer it was about.
    await page.getByRole("table", { name: "Feedback by model" }).getByText("fake-small").waitFor();
    const comment = page.locator("li[data-feedback-comment]").filter({ hasText: "Too short for the offsite plan" });
    await comment.getByRole("img", { name: "Bad" }).waitFor();
    await comment.getByRole("link", { name: "Open the answer" }).click();
    const target = page.locator("li[data-search-target]");
    await target.waitFor();
    assert.equal(await target.getAttribute("data-message-id"), state.ratedAnswer);
  });
}

export function registerPhone(step, state) {
  step("the assistant works on a phone: the list and details open as sheets", async () => {
    const { page } = state.owner;
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await go(page, `${state.base}/w/${state.wsId}/assistant/${state.privateChat}`);
      await page.locator('li[data-role="assistant"]').first().waitFor();
      assert.equal(await page.locator('aside[aria-label="Conversations"]').count(), 0, "no list panel beside the chat");
      // The answers themselves, not their placeholders, and nothing wider than the phone.
      await page.locator('li[data-role="assistant"]').last().getByText("Echo: Just a short one, please").waitFor();
      const past = await page.evaluate(() => {
        const chat = document.querySelector('[aria-label="Messages"]');
        const rights = [...chat.querySelectorAll("*")].map((el) => el.getBoundingClientRect().right);
        return { scrolls: chat.scrollWidth - chat.clientWidth, beyond: Math.max(...rights) - window.innerWidth };
      });
      assert.ok(past.scrolls <= 0 && past.beyond <= 0.5, `the chat is wider than the phone (${JSON.stringify(past)})`);
      await shot(page, "36-assistant-phone", { fullPage: false });
      await page.getByRole("button", { name: "Show conversations" }).click();
      const sheet = page.getByRole("dialog", { name: "Conversations" });
      await sheet.locator(`li[data-conversation-id="${state.sharedChat}"] a`).click();
      await page.waitForURL(new RegExp(`/assistant/${state.sharedChat}$`));
      assert.equal(await sheet.count(), 0, "the sheet closes after choosing");
      await page.getByRole("button", { name: "Show details" }).click();
      await page.getByRole("dialog", { name: "Conversation details" }).getByText("Shared with the workspace", { exact: true }).waitFor();
      await page.keyboard.press("Escape");
    } finally {
      await page.setViewportSize({ width: 1280, height: 820 });
    }
  });
}
