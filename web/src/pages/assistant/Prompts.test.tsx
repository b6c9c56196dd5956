/** Saved prompts: the "/" list in the message box, and the library to use, add, change and delete them. */
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, json } from "../../../test/api-mock";
import { PROMPTS, savedPrompt, serve, setUpAssistantTests, show } from "../../../test/assistant";
import { filterPrompts, promptQuery } from "./prompts";

setUpAssistantTests();

const composer = () => screen.getByRole("textbox", { name: "Message" });
const options = () => within(screen.getByRole("listbox", { name: "Saved prompts" })).getAllByRole("option");

describe("promptQuery and filterPrompts", () => {
  it("lists prompts only while the message is a slash and one word", () => {
    expect(promptQuery("/")).toBe("");
    expect(promptQuery("/tra")).toBe("tra");
    expect(promptQuery("/tra ")).toBeNull();
    expect(promptQuery("a/tra")).toBeNull();
    expect(promptQuery("/a\nb")).toBeNull();
    expect(promptQuery("")).toBeNull();
  });

  it("finds titles with the words, those that start with them first", () => {
    const ps = [savedPrompt("1", "Fix the French", "x"), savedPrompt("2", "French menu", "y"), savedPrompt("3", "Other", "z")];
    expect(filterPrompts(ps, "").map((p) => p.id)).toEqual(["1", "2", "3"]);
    expect(filterPrompts(ps, "FRENCH").map((p) => p.id)).toEqual(["2", "1"]);
    expect(filterPrompts(ps, "nothing")).toEqual([]);
  });
});

describe("Saved prompts in the message box", () => {
  it("/ lists them, typing filters, arrows choose, Enter puts the text in the box without sending", async () => {
    const { calls } = serve();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "/");
    await waitFor(() => expect(options()).toHaveLength(2));
    expect(composer()).toHaveAttribute("aria-activedescendant", options()[0]!.id);
    await userEvent.keyboard("{ArrowDown}");
    expect(options()[1]).toHaveAttribute("aria-selected", "true");
    expect(composer()).toHaveAttribute("aria-activedescendant", options()[1]!.id);
    await userEvent.type(composer(), "rev");
    expect(options().map((o) => o.textContent)).toEqual([expect.stringContaining("Review a change")]);
    await userEvent.keyboard("{Enter}");
    expect(composer()).toHaveValue(PROMPTS[0]!.content);
    expect(screen.queryByRole("listbox", { name: "Saved prompts" })).not.toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST" && c.path.endsWith("/messages"))).toBe(false);
  });

  it("Escape closes the list and keeps the text; a slash that matches nothing says so", async () => {
    serve();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "/tr");
    await waitFor(() => expect(options()).toHaveLength(1));
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("listbox", { name: "Saved prompts" })).not.toBeInTheDocument();
    expect(composer()).toHaveValue("/tr");
    await userEvent.type(composer(), "zz");
    expect(await screen.findByText("No saved prompt is called “trzz”.")).toBeInTheDocument();
  });

  it("opens again after Escape once the text changes, and closes when the box loses the focus", async () => {
    serve();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "/");
    await waitFor(() => expect(options()).toHaveLength(2));
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("listbox", { name: "Saved prompts" })).not.toBeInTheDocument();
    await userEvent.keyboard("{Backspace}/");
    expect(options()).toHaveLength(2);
    expect(document.querySelector("[data-prompt-menu] [role=status]")).toHaveTextContent("2 saved prompts");
    await userEvent.tab();
    expect(screen.queryByRole("listbox", { name: "Saved prompts" })).not.toBeInTheDocument();
  });

  it("picks only on a plain Enter or Tab: not Shift+Enter, not an input method's Enter", async () => {
    serve();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "/tr");
    await waitFor(() => expect(options()).toHaveLength(1));
    fireEvent.keyDown(composer(), { key: "Enter", keyCode: 229 });
    expect(composer()).toHaveValue("/tr");
    fireEvent.keyDown(composer(), { key: "Tab", shiftKey: true });
    expect(composer()).toHaveValue("/tr");
    fireEvent.keyDown(composer(), { key: "Enter", shiftKey: true });
    expect(composer()).toHaveValue("/tr");
    fireEvent.keyDown(composer(), { key: "Tab" });
    expect(composer()).toHaveValue("Translate into French:");
  });

  it("a prompt that is itself a /word does not open the list again", async () => {
    serve({ prompts: () => [savedPrompt("p9", "Slash", "/slash")] });
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "/sl");
    await waitFor(() => expect(options()).toHaveLength(1));
    await userEvent.keyboard("{Enter}");
    expect(composer()).toHaveValue("/slash");
    expect(document.querySelector("[data-prompt-menu]")).toBeNull();
  });

  it("a click on a prompt puts its text in the box", async () => {
    serve();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "/");
    await userEvent.click(await screen.findByRole("option", { name: /Translate to French/ }));
    expect(composer()).toHaveValue("Translate into French:");
    expect(composer()).toHaveFocus();
  });
});

describe("The prompt library", () => {
  it("adds a prompt, shared if asked, and lists it", async () => {
    let kept = [...PROMPTS];
    const { calls } = serve({
      prompts: () => kept,
      routes: {
        "POST /api/v1/workspaces/:ws/ai/prompts": (_req, body) => {
          const p = savedPrompt("p3", (body as { title: string }).title, (body as { content: string }).content, body as Record<string, unknown>);
          kept = [...kept, p];
          return json(201, p);
        },
      },
    });
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Saved prompts" }));
    const dialog = await screen.findByRole("dialog", { name: "Saved prompts" });
    await userEvent.click(within(dialog).getByRole("button", { name: "New prompt" }));
    const form = await screen.findByRole("dialog", { name: "New prompt" });
    // Nothing typed: said on the field, nothing sent.
    await userEvent.click(within(form).getByRole("button", { name: "Add prompt" }));
    expect(within(form).getByText("Enter a title")).toBeInTheDocument();
    expect(within(form).getByText("Enter the text to send")).toBeInTheDocument();
    await userEvent.type(within(form).getByRole("textbox", { name: "Title" }), "Summarise");
    await userEvent.type(within(form).getByRole("textbox", { name: "Text" }), "Summarise in three bullets:");
    await userEvent.click(within(form).getByRole("switch", { name: "Share with the workspace" }));
    await userEvent.click(within(form).getByRole("button", { name: "Add prompt" }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === "POST" && c.path.endsWith("/ai/prompts"))?.body).toEqual({
        title: "Summarise",
        content: "Summarise in three bullets:",
        visibility: "workspace",
      }),
    );
    const list = await screen.findByRole("list", { name: "Saved prompts" });
    await within(list).findByText("Summarise");
    // Back at the list, the focus where the next one starts.
    await waitFor(() => expect(screen.getByRole("button", { name: "New prompt" })).toHaveFocus());
  });

  it("Use puts a prompt's text in the box; only those one may change have Edit and Delete", async () => {
    serve();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Saved prompts" }));
    const dialog = await screen.findByRole("dialog", { name: "Saved prompts" });
    await within(dialog).findByText("Review a change");
    expect(within(dialog).getByRole("button", { name: "Edit Review a change" })).toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Edit Translate to French" })).not.toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Delete Translate to French" })).not.toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole("button", { name: "Use Translate to French" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    await waitFor(() => expect(composer()).toHaveValue("Translate into French:"));
  });

  it("Use puts the prompt where the caret was, keeps what was typed, and leaves the focus in the box", async () => {
    serve();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "Please. ");
    await userEvent.click(screen.getByRole("button", { name: "Saved prompts" }));
    const dialog = await screen.findByRole("dialog", { name: "Saved prompts" });
    await userEvent.click(await within(dialog).findByRole("button", { name: "Use Translate to French" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    await waitFor(() => expect(composer()).toHaveValue("Please. Translate into French:"));
    await waitFor(() => expect(composer()).toHaveFocus());
  });

  it("an admin edits a member's shared prompt without the share switch; the server's field errors land on the fields", async () => {
    const shared = savedPrompt("p2", "Translate to French", "Translate into French:", { visibility: "workspace", created_by: "u9", can_write: true });
    serve({
      prompts: () => [shared],
      routes: {
        "PATCH /api/v1/workspaces/:ws/ai/prompts/:pid": () => apiError(422, "validation_failed", "Some fields are invalid.", { fields: { title: "must not contain control characters" } }),
      },
    });
    show("admin");
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Saved prompts" }));
    const dialog = await screen.findByRole("dialog", { name: "Saved prompts" });
    await userEvent.click(await within(dialog).findByRole("button", { name: "Edit Translate to French" }));
    const form = await screen.findByRole("dialog", { name: "Edit prompt" });
    expect(within(form).queryByRole("switch")).not.toBeInTheDocument();
    await userEvent.click(within(form).getByRole("button", { name: "Save" }));
    expect(await within(form).findByText("must not contain control characters")).toBeInTheDocument();
  });

  it("Delete asks first, then deletes", async () => {
    let kept = [...PROMPTS];
    const { calls } = serve({
      prompts: () => kept,
      routes: {
        "DELETE /api/v1/workspaces/:ws/ai/prompts/:pid": () => {
          kept = kept.slice(1);
          return json(204, null);
        },
      },
    });
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Saved prompts" }));
    const dialog = await screen.findByRole("dialog", { name: "Saved prompts" });
    await userEvent.click(await within(dialog).findByRole("button", { name: "Delete Review a change" }));
    const confirm = await screen.findByRole("alertdialog", { name: "Delete this prompt?" });
    await userEvent.click(within(confirm).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path.endsWith("/ai/prompts/p1"))).toBe(true));
    await waitFor(() => expect(within(screen.getByRole("dialog", { name: "Saved prompts" })).queryByText("Review a change")).not.toBeInTheDocument());
  });
});
