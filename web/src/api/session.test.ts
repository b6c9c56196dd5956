import { QueryClient } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi } from "../../test/api-mock";
import { me } from "../../test/fixtures";
import { endSession, meKey, onSessionChange, type SessionChange, startSession } from "./session";

afterEach(() => vi.unstubAllGlobals());

describe("session changes", () => {
  it("says when a session ends, when the person chose it, and when someone else signs in next", async () => {
    const heard: SessionChange[] = [];
    const stop = onSessionChange((c) => heard.push(c));
    const qc = new QueryClient();
    let who = me("owner");
    mockApi({ "GET /api/v1/me": () => json(200, who) });

    await startSession(qc, "csrf");
    endSession(qc);
    expect(heard).toEqual(["ended"]);
    // The same person again: nothing to forget beyond the session.
    await startSession(qc, "csrf");
    expect(heard).toEqual(["ended"]);
    endSession(qc, true);
    expect(heard).toEqual(["ended", "ended", "signed_out"]);
    who = me("member", { id: "01900000-0000-7000-8000-0000000000bb", email: "next@example.com" });
    await startSession(qc, "csrf");
    expect(heard).toEqual(["ended", "ended", "signed_out", "someone_else"]);
    expect(qc.getQueryData(meKey)).toMatchObject({ user: { email: "next@example.com" } });
    stop();
  });

  it("clears the last person's drafts when someone else signs in, after a reload too", async () => {
    // Left by a session that expired before the tab was reloaded.
    sessionStorage.setItem("nexus-last-user", me("owner").user.id);
    sessionStorage.setItem("nexus-draft:w:new", "the last person's words");
    mockApi({ "GET /api/v1/me": () => json(200, me("member", { id: "01900000-0000-7000-8000-0000000000cc" })) });
    await startSession(new QueryClient(), "csrf");
    expect(sessionStorage.getItem("nexus-draft:w:new")).toBeNull();
  });
});
