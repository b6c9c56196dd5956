import { QueryClient } from "@tanstack/react-query";
import { act, fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createRef } from "react";
import { describe, expect, it, vi } from "vitest";
import { endSession } from "@/api/session";
import { Composer, type ComposerHandle, composerKeyAction } from "./Composer";

describe("composerKeyAction", () => {
  it("sends on Enter, adds a line on Shift+Enter or Alt+Enter, leaves other keys alone", () => {
    expect(composerKeyAction({ key: "Enter", shiftKey: false })).toBe("send");
    expect(composerKeyAction({ key: "Enter", shiftKey: true })).toBe("newline");
    expect(composerKeyAction({ key: "Enter", shiftKey: false, altKey: true })).toBe("newline");
    expect(composerKeyAction({ key: "a", shiftKey: false })).toBeNull();
  });

  it("leaves Enter to an input method that is composing", () => {
    expect(composerKeyAction({ key: "Enter", shiftKey: false, isComposing: true })).toBeNull();
  });
});

describe("Composer", () => {
  it("Enter sends and clears; Shift+Enter starts a new line", async () => {
    const onSend = vi.fn();
    render(<Composer onSend={onSend} onStop={() => {}} busy={false} />);
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "first line{Shift>}{Enter}{/Shift}second line");
    expect(onSend).not.toHaveBeenCalled();
    expect(box).toHaveValue("first line\nsecond line");
    await userEvent.keyboard("{Enter}");
    expect(onSend).toHaveBeenCalledWith("first line\nsecond line", []);
    expect(box).toHaveValue("");
  });

  it("does not send blank text", async () => {
    const onSend = vi.fn();
    render(<Composer onSend={onSend} onStop={() => {}} busy={false} />);
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "   {Enter}");
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Send message" })).toBeDisabled();
  });

  it("does not send while an input method composes", () => {
    const onSend = vi.fn();
    render(<Composer onSend={onSend} onStop={() => {}} busy={false} />);
    const box = screen.getByRole("textbox", { name: "Message" });
    fireEvent.change(box, { target: { value: "にほん" } });
    fireEvent.keyDown(box, { key: "Enter", isComposing: true, keyCode: 229 });
    expect(onSend).not.toHaveBeenCalled();
  });

  it("while an answer streams, Enter keeps the text and the button stops it", async () => {
    const onSend = vi.fn();
    const onStop = vi.fn();
    render(<Composer onSend={onSend} onStop={onStop} busy />);
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "next question{Enter}");
    expect(onSend).not.toHaveBeenCalled();
    expect(box).toHaveValue("next question");
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    expect(onStop).toHaveBeenCalled();
  });

  it("keeps the text when the send is refused", async () => {
    render(<Composer onSend={() => false} onStop={() => {}} busy={false} />);
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "hello{Enter}");
    expect(box).toHaveValue("hello");
  });

  it("keeps each conversation's draft when the same box serves another", async () => {
    const props = { onSend: () => {}, onStop: () => {}, busy: false };
    const { rerender } = render(<Composer {...props} draftKey="w:c1" />);
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "for c1");
    rerender(<Composer {...props} draftKey="w:new" />);
    expect(box).toHaveValue("");
    await userEvent.type(box, "started new");
    rerender(<Composer {...props} draftKey="w:c1" />);
    expect(box).toHaveValue("for c1");
    rerender(<Composer {...props} draftKey="w:new" />);
    expect(box).toHaveValue("started new");
    // Sent: the new chat became conversation c2, and its box starts empty.
    await userEvent.keyboard("{Enter}");
    rerender(<Composer {...props} draftKey="w:c2" />);
    expect(box).toHaveValue("");
    rerender(<Composer {...props} draftKey="w:new" />);
    expect(box).toHaveValue("");
  });

  it("leaves no draft behind when the person signs out", async () => {
    const qc = new QueryClient();
    render(<Composer onSend={() => {}} onStop={() => {}} busy={false} draftKey="w:c9" />);
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "half a thought");
    expect(sessionStorage.getItem("nexus-draft:w:c9")).toBe("half a thought");
    endSession(qc);
    expect(sessionStorage.getItem("nexus-draft:w:c9")).toBe("half a thought");
    endSession(qc, true);
    expect(sessionStorage.getItem("nexus-draft:w:c9")).toBeNull();
  });

  it("asked for the focus while disabled, takes it once enabled, unless the person went elsewhere", () => {
    const ref = createRef<ComposerHandle>();
    const props = { onSend: () => {}, onStop: () => {}, busy: false };
    const { rerender } = render(
      <>
        <input aria-label="Elsewhere" />
        <Composer ref={ref} {...props} disabled />
      </>,
    );
    const box = screen.getByRole("textbox", { name: "Message" });
    act(() => ref.current?.focus());
    expect(box).not.toHaveFocus();
    rerender(
      <>
        <input aria-label="Elsewhere" />
        <Composer ref={ref} {...props} />
      </>,
    );
    expect(box).toHaveFocus();

    rerender(
      <>
        <input aria-label="Elsewhere" />
        <Composer ref={ref} {...props} disabled />
      </>,
    );
    act(() => ref.current?.focus());
    screen.getByRole("textbox", { name: "Elsewhere" }).focus();
    rerender(
      <>
        <input aria-label="Elsewhere" />
        <Composer ref={ref} {...props} />
      </>,
    );
    expect(screen.getByRole("textbox", { name: "Elsewhere" })).toHaveFocus();
  });
});
