/** Deleting a message: asked first, saying what goes; then the chat shows what remains. */
import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, json } from "../../../test/api-mock";
import { conversation, FIRST, message, serve, setUpAssistantTests, show, sseStream } from "../../../test/assistant";

setUpAssistantTests();

/** Two exchanges; the second answer has two versions. */
const LONGER = [
  ...FIRST,
  message("u2", "user", "Plan a trip", { parent_id: "a1" }),
  message("a2b", "assistant", "Go to Lisbon.", { parent_id: "u2", sibling_ids: ["a2", "a2b"] }),
];

const deleteButtons = () => screen.getAllByRole("button", { name: "Delete message" });

describe("deleting a message", () => {
  it("asks first, says what goes, then shows what remains with the focus in the box", async () => {
    let saved = LONGER;
    const { calls } = serve({
      messages: () => saved,
      routes: {
        "DELETE /api/v1/workspaces/:ws/conversations/:cid/messages/:mid": () => {
          saved = FIRST;
          return json(204, null);
        },
      },
    });
    show();
    await screen.findByText("Go to Lisbon.");
    // Four messages, each with its button: the questions', and the answers'.
    expect(deleteButtons()).toHaveLength(4);

    // The first answer is its question's only one: the question goes too, and all after.
    await userEvent.click(deleteButtons()[1]!);
    let dialog = screen.getByRole("alertdialog");
    expect(within(dialog).getByText("Delete this answer and its question?")).toBeInTheDocument();
    expect(dialog).toHaveTextContent("4 messages here");
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);

    // A version among others goes alone with what followed it.
    await userEvent.click(deleteButtons()[3]!);
    dialog = screen.getByRole("alertdialog");
    expect(within(dialog).getByText("Delete this version of the answer?")).toBeInTheDocument();
    expect(dialog).toHaveTextContent("1 message here");
    expect(dialog).toHaveTextContent("other versions stay");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete" }));

    await waitFor(() => expect(screen.queryByText("Go to Lisbon.")).toBeNull());
    expect(calls.some((c) => c.method === "DELETE" && c.path.endsWith("/messages/a2b"))).toBe(true);
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(screen.getByText("Hello! How can I help?")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("textbox", { name: "Message" })).toHaveFocus());
  });

  it("a refusal keeps the dialog open, says why, and changes nothing on screen", async () => {
    serve({
      routes: {
        "DELETE /api/v1/workspaces/:ws/conversations/:cid/messages/:mid": () =>
          apiError(409, "answer_streaming", "An answer there is still being written; stop it, then delete."),
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(deleteButtons()[0]!);
    const dialog = screen.getByRole("alertdialog");
    expect(within(dialog).getByText("Delete this message?")).toBeInTheDocument();
    expect(dialog).toHaveTextContent("2 messages here");
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect(await screen.findByText(/still being written; stop it/)).toBeInTheDocument();
    expect(screen.getByRole("alertdialog")).toBeInTheDocument();
    expect(screen.getByText("Hi")).toBeInTheDocument();
  });

  it("a refused message under what went goes back into the box", async () => {
    let saved = FIRST;
    serve({
      messages: () => saved,
      post: () => apiError(429, "ai_quota_exceeded", "This workspace's monthly AI token quota is used up."),
      routes: {
        "DELETE /api/v1/workspaces/:ws/conversations/:cid/messages/:mid": () => {
          saved = [];
          return json(204, null);
        },
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "One more{Enter}");
    await screen.findByText(/Not sent: AI quota used up/);
    await userEvent.click(deleteButtons()[0]!);
    await userEvent.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Delete" }));
    await screen.findByRole("heading", { name: "What can I help with?" });
    expect(screen.queryByText(/Not sent/)).toBeNull();
    expect(screen.getByRole("textbox", { name: "Message" })).toHaveValue("One more");
  });

  it("deleting the message of an answer that failed unsaved takes the failed answer with it", async () => {
    let saved = [...FIRST, message("u2", "user", "Tell me more", { parent_id: "a1" })];
    const stream = sseStream();
    serve({
      messages: () => saved,
      post: (req) => stream.response(req.signal),
      routes: {
        "DELETE /api/v1/workspaces/:ws/conversations/:cid/messages/:mid": () => {
          saved = FIRST;
          return json(204, null);
        },
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Tell me more{Enter}");
    act(() => {
      stream.send("message", { ...message("u2", "user", "Tell me more", { parent_id: "a1" }), assistant_message_id: "a2" });
      stream.send("error", { code: "provider_error", message: "The provider failed." });
      stream.close();
    });
    await screen.findByText("The provider failed.");
    const question = screen.getAllByRole("listitem", { name: "You" }).at(-1)!;
    await userEvent.click(within(question).getByRole("button", { name: "Delete message" }));
    await userEvent.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(screen.queryByText("Tell me more")).toBeNull());
    expect(screen.queryByText("The provider failed.")).toBeNull();
    // It had been sent: it does not come back as a draft.
    expect(screen.getByRole("textbox", { name: "Message" })).toHaveValue("");
  });

  it("is not offered to those who may only read the conversation", async () => {
    serve({ conv: conversation({ visibility: "workspace", can_write: false, created_by: "u9" }) });
    show("member");
    await screen.findByText("Hello! How can I help?");
    expect(screen.queryByRole("button", { name: "Delete message" })).toBeNull();
  });
});
