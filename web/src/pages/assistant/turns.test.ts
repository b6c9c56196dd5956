import { QueryClient } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { json, mockApi } from "../../../test/api-mock";
import { CID, conversation, FIRST, message, sseStream } from "../../../test/assistant";
import { WS_ID } from "../../../test/fixtures";
import { displayMessages, type LiveTurn, resetTurns, startTurn, takenByServer, type TurnSpec, useLiveTurn } from "./turns";
import { type ChatMessage, toChatMessage } from "./types";

const msg = (id: string, role: "user" | "assistant", content: string, parent: string | null): ChatMessage =>
  toChatMessage(message(id, role, content, { parent_id: parent }) as Parameters<typeof toChatMessage>[0]);

const q1 = msg("u1", "user", "Hi", null);
const a1 = msg("a1", "assistant", "Hello", "u1");
const q2 = msg("u2", "user", "More?", "a1");
const a2 = msg("a2", "assistant", "Sure.", "u2");

function turn(spec: Partial<TurnSpec>, over: Partial<LiveTurn> = {}): LiveTurn {
  return {
    seq: 1,
    spec: { workspaceId: "w", conversationId: "c", kind: "send", anchorId: null, content: "", ...spec },
    conversationId: "c",
    phase: "streaming",
    user: null,
    assistant: msg("live-1", "assistant", "New", "u2"),
    answerId: "a3",
    failure: null,
    ...over,
  };
}

describe("displayMessages", () => {
  it("shows a regeneration under its question, without the old answer, though the question is not saved yet", () => {
    const live = turn({ kind: "regenerate", anchorId: "u2", targetId: "a2", shown: [q1, a1, q2, a2] });
    expect(displayMessages([q1, a1], live).map((m) => m.id)).toEqual(["u1", "a1", "u2", "live-1"]);
    // Once saved, the saved branch up to the question.
    expect(displayMessages([q1, a1, q2, a2], live).map((m) => m.id)).toEqual(["u1", "a1", "u2", "live-1"]);
  });
});

describe("takenByServer", () => {
  it("finds the message a turn sent under its anchor, new since it started", () => {
    const spec: TurnSpec = { workspaceId: "w", conversationId: "c", kind: "send", anchorId: "a1", content: "More?", shown: [q1, a1] };
    expect(takenByServer([q1, a1], spec)).toBe(false);
    expect(takenByServer([q1, a1, q2, a2], spec)).toBe(true);
    expect(takenByServer([q1, a1, q2], { ...spec, content: "Other" })).toBe(false);
  });

  it("finds a regeneration's new answer, not the one it replaces", () => {
    const spec: TurnSpec = { workspaceId: "w", conversationId: "c", kind: "regenerate", anchorId: "u2", targetId: "a2", content: "More?", shown: [q1, a1, q2, a2] };
    expect(takenByServer([q1, a1, q2, a2], spec)).toBe(false);
    expect(takenByServer([q1, a1, q2, msg("a3", "assistant", "Yes.", "u2")], spec)).toBe(true);
  });
});

describe("a finished turn", () => {
  it("gives way to the saved messages though its conversation is not on screen", async () => {
    const stream = sseStream();
    const u2 = message("u2", "user", "More?", { parent_id: "a1" });
    const a2 = message("a2", "assistant", "Sure.", { parent_id: "u2" });
    mockApi({
      "POST /api/v1/workspaces/:ws/conversations/:cid/messages": (req) => stream.response(req.signal),
      "GET /api/v1/workspaces/:ws/conversations/:cid/messages": () => json(200, { items: [...FIRST, u2, a2], next_cursor: null }),
      "GET /api/v1/workspaces/:ws/conversations/:cid": () => json(200, conversation()),
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [conversation()], next_cursor: null }),
    });
    const qc = new QueryClient();
    // Nothing on screen reads the conversation's messages: only the turn is watched.
    const { result } = renderHook(() => useLiveTurn(WS_ID, CID));
    act(() => void startTurn(qc, { workspaceId: WS_ID, conversationId: CID, kind: "send", anchorId: "a1", content: "More?" }));
    expect(result.current?.phase).toBe("sending");
    act(() => {
      stream.send("message", { ...u2, assistant_message_id: "a2" });
      stream.send("done", a2);
      stream.close();
    });
    await waitFor(() => expect(result.current).toBeUndefined());
    resetTurns();
    vi.unstubAllGlobals();
  });
});
