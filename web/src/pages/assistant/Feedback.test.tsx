/** Rating answers: the thumbs, the comment that may follow, and a rating the server refuses. */
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, json } from "../../../test/api-mock";
import { answer, conversation, FIRST, message, serve, setUpAssistantTests, show } from "../../../test/assistant";

setUpAssistantTests();

const FEEDBACK = "/api/v1/workspaces/:ws/conversations/:cid/messages/:mid/feedback";

/**
 * The conversation served, with the rating the server keeps (`put` may refuse it); returns
 * the calls to the answer's feedback route.
 */
function serveRatings(put: (body: unknown) => Response | null = () => null) {
  let kept: unknown = null;
  const { calls } = serve({
    messages: () => [FIRST[0], { ...FIRST[1], ...(kept ? { feedback: kept } : {}) }],
    routes: {
      [`PUT ${FEEDBACK}`]: (_req, body) => {
        const refused = put(body);
        if (refused) return refused;
        kept = { ...(body as object), updated_at: "2026-01-01T00:00:00Z" };
        return json(200, kept);
      },
      [`DELETE ${FEEDBACK}`]: () => {
        kept = null;
        return json(204, null);
      },
    },
  });
  return () => calls.filter((c) => c.path.endsWith("/messages/a1/feedback")).map((c) => ({ method: c.method, body: c.body }));
}

const thumb = (name: "Good answer" | "Bad answer") => within(answer()).getByRole("button", { name });

describe("Rating answers", () => {
  it("a thumb rates the answer at once, and pressed again takes the rating back", async () => {
    const ratings = serveRatings();
    show("member");
    await screen.findByText("Hello! How can I help?");
    expect(thumb("Good answer")).toHaveAttribute("aria-pressed", "false");

    await userEvent.click(thumb("Good answer"));
    await waitFor(() => expect(ratings()).toEqual([{ method: "PUT", body: { rating: "up", comment: null } }]));
    expect(thumb("Good answer")).toHaveAttribute("aria-pressed", "true");
    // Saying why is offered, never required.
    const form = screen.getByRole("form", { name: "Your feedback" });
    expect(within(form).getByRole("textbox", { name: /What was good about it\?/ })).toHaveFocus();
    expect(within(form).getByText("Your rating and comment are shown to the workspace's admins.")).toBeInTheDocument();
    await userEvent.click(within(form).getByRole("button", { name: "Skip" }));
    expect(screen.queryByRole("form", { name: "Your feedback" })).not.toBeInTheDocument();

    await userEvent.click(thumb("Good answer"));
    await waitFor(() => expect(ratings().at(-1)).toEqual({ method: "DELETE", body: undefined }));
    expect(thumb("Good answer")).toHaveAttribute("aria-pressed", "false");
    expect(screen.queryByRole("form", { name: "Your feedback" })).not.toBeInTheDocument();
  });

  it("a bad rating asks what was wrong, and Enter sends the comment with it", async () => {
    const ratings = serveRatings();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(thumb("Bad answer"));
    const box = await screen.findByRole("textbox", { name: /What was wrong with it\?/ });
    await userEvent.type(box, "Too vague{Enter}");
    await waitFor(() =>
      expect(ratings()).toEqual([
        { method: "PUT", body: { rating: "down", comment: null } },
        { method: "PUT", body: { rating: "down", comment: "Too vague" } },
      ]),
    );
    expect(screen.queryByRole("form", { name: "Your feedback" })).not.toBeInTheDocument();
    expect(thumb("Bad answer")).toHaveAttribute("aria-pressed", "true");
    expect(thumb("Good answer")).toHaveAttribute("aria-pressed", "false");
  });

  it("Escape closes the comment box and keeps the rating", async () => {
    const ratings = serveRatings();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(thumb("Bad answer"));
    await screen.findByRole("form", { name: "Your feedback" });
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("form", { name: "Your feedback" })).not.toBeInTheDocument();
    expect(ratings()).toHaveLength(1);
    expect(thumb("Bad answer")).toHaveAttribute("aria-pressed", "true");
  });

  it("a rating the server refuses comes back off, and says why", async () => {
    const ratings = serveRatings(() => apiError(409, "answer_streaming", "This answer is still being written."));
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(thumb("Good answer"));
    expect(await screen.findByText("This answer is still being written.")).toBeInTheDocument();
    await waitFor(() => expect(thumb("Good answer")).toHaveAttribute("aria-pressed", "false"));
    expect(screen.queryByRole("form", { name: "Your feedback" })).not.toBeInTheDocument();
    // The box the refusal closed had the focus: it goes back to the thumb.
    expect(thumb("Good answer")).toHaveFocus();
    expect(ratings()).toHaveLength(1);
  });

  it("closing the box gives the focus back to the thumb, and a box for the other thumb starts empty", async () => {
    const ratings = serveRatings();
    show("member");
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(thumb("Good answer"));
    const good = await screen.findByRole("textbox", { name: /What was good about it\?/ });
    expect(good).toHaveAccessibleDescription("Your rating and comment are shown to the workspace's admins.");
    await userEvent.type(good, "Clear and short");
    // Changing one's mind: the words for the good rating do not go with the bad one.
    await userEvent.click(thumb("Bad answer"));
    const bad = await screen.findByRole("textbox", { name: /What was wrong with it\?/ });
    expect(bad).toHaveValue("");
    await userEvent.click(screen.getByRole("button", { name: "Skip" }));
    await waitFor(() => expect(thumb("Bad answer")).toHaveFocus());
    expect(ratings()).toEqual([
      { method: "PUT", body: { rating: "up", comment: null } },
      { method: "PUT", body: { rating: "down", comment: null } },
    ]);
    expect(thumb("Bad answer")).toHaveAttribute("aria-pressed", "true");
  });

  it("shows the reader's own rating from the server, and no thumbs to those who may not chat", async () => {
    const rated = [FIRST[0], message("a1", "assistant", "Hello! How can I help?", { parent_id: "u1", feedback: { rating: "down", comment: "Meh", updated_at: "2026-01-01T00:00:00Z" } })];
    serve({ messages: () => rated });
    const { unmount } = show("member");
    await screen.findByText("Hello! How can I help?");
    expect(thumb("Bad answer")).toHaveAttribute("aria-pressed", "true");
    unmount();

    serve({ messages: () => rated, conv: conversation({ can_write: false }) });
    show("viewer");
    await screen.findByText("Hello! How can I help?");
    expect(within(answer()).queryByRole("button", { name: "Good answer" })).not.toBeInTheDocument();
  });

  it("a refused rating closes its own box though another answer was rated since", async () => {
    let settleFirst!: (r: Response) => void;
    const two = [...FIRST, message("u2", "user", "More?", { parent_id: "a1" }), message("a2", "assistant", "Sure.", { parent_id: "u2" })];
    const { calls } = serve({
      messages: () => two,
      routes: {
        [`PUT ${FEEDBACK}`]: (req, body) =>
          req.url.includes("/messages/a1/")
            ? new Promise<Response>((r) => (settleFirst = r))
            : json(200, { ...(body as object), updated_at: "2026-01-01T00:00:00Z" }),
      },
    });
    show("member");
    await screen.findByText("Sure.");
    const item = (id: string) => document.querySelector(`li[data-message-id="${id}"]`) as HTMLElement;
    await userEvent.click(within(item("a1")).getByRole("button", { name: "Bad answer" }));
    expect(await within(item("a1")).findByRole("form", { name: "Your feedback" })).toBeInTheDocument();
    await userEvent.click(within(item("a2")).getByRole("button", { name: "Good answer" }));
    await within(item("a2")).findByRole("form", { name: "Your feedback" });
    // One conversation's ratings go one after another: the second waits for the first.
    expect(calls.filter((c) => c.method === "PUT")).toHaveLength(1);
    settleFirst(apiError(409, "answer_failed", "This answer failed."));
    await waitFor(() => expect(within(item("a1")).queryByRole("form", { name: "Your feedback" })).not.toBeInTheDocument());
    expect(within(item("a1")).getByRole("button", { name: "Bad answer" })).toHaveAttribute("aria-pressed", "false");
    await waitFor(() => expect(calls.filter((c) => c.method === "PUT")).toHaveLength(2));
    expect(within(item("a2")).getByRole("form", { name: "Your feedback" })).toBeInTheDocument();
  });
});
