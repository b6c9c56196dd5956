/**
 * Files in the chat: what may be attached and why not, the box's list of them, what the
 * message sends, and how a question shows its files before and after it is saved.
 */
import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { apiError, json } from "../../../test/api-mock";
import { CID, FIRST, message, serve, setUpAssistantTests, show, sseStream } from "../../../test/assistant";
import { WS_ID } from "../../../test/fixtures";
import { formatSize, MAX_FILES, MAX_IMAGE_BYTES, readFiles } from "./attachments";

setUpAssistantTests();

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2]);
const png = (name = "shot.png") => new File([PNG], name, { type: "image/png" });
const text = (name: string, words: string, type = "text/plain") => new File([words], name, { type });

describe("readFiles", () => {
  it("makes a photo too large to send smaller, where the browser can draw it", async () => {
    const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    const drawn: number[][] = [];
    vi.stubGlobal("createImageBitmap", async () => ({ width: 4000, height: 3000, close: () => {} }));
    const canvas = vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(function (this: HTMLCanvasElement) {
      drawn.push([this.width, this.height]);
      return { fillRect: () => {}, drawImage: () => {}, fillStyle: "" } as unknown as CanvasRenderingContext2D;
    } as unknown as typeof HTMLCanvasElement.prototype.getContext);
    const toBlob = vi.spyOn(HTMLCanvasElement.prototype, "toBlob").mockImplementation((done) => done(new Blob([JPEG], { type: "image/jpeg" })));
    try {
      const photo = new File([new Uint8Array(MAX_IMAGE_BYTES + 1)], "IMG_0001.png", { type: "image/png" });
      const { added, problems } = await readFiles([photo], []);
      expect(problems).toEqual([]);
      expect(drawn).toEqual([[2048, 1536]]);
      expect(added.map((f) => [f.name, f.mediaType, f.size])).toEqual([["IMG_0001.jpg", "image/jpeg", JPEG.length]]);
    } finally {
      canvas.mockRestore();
      toBlob.mockRestore();
      vi.unstubAllGlobals();
    }
  });

  it("knows an image by its bytes, not its name", async () => {
    const webp = new Uint8Array([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, 1]);
    const { added } = await readFiles([new File([webp], "photo.png", { type: "image/png" })], []);
    expect(added[0]?.mediaType).toBe("image/webp");
    const fake = await readFiles([new File(["<svg/>"], "x.png", { type: "image/png" })], []);
    expect(fake.problems).toEqual(["x.png can't be attached: only images (PNG, JPEG, GIF, WebP) and text files can."]);
  });

  it("reads images with a preview and text files as they are", async () => {
    const { added, problems } = await readFiles([png(), text("main.rs", "fn main() {}", "")], []);
    expect(problems).toEqual([]);
    expect(added.map((f) => [f.name, f.mediaType, f.size])).toEqual([
      ["shot.png", "image/png", 10],
      ["main.rs", "text/plain", 12],
    ]);
    expect(added[0]?.preview).toBe(`data:image/png;base64,${added[0]?.data}`);
    expect(atob(added[1]?.data ?? "")).toBe("fn main() {}");
  });

  it("says why a file cannot go", async () => {
    const binary = new File([new Uint8Array([0, 159, 146, 150])], "app.exe", { type: "application/octet-stream" });
    const big = new File([new Uint8Array(MAX_IMAGE_BYTES + 1)], "huge.png", { type: "image/png" });
    const { added, problems } = await readFiles([binary, big, text("empty.txt", "")], []);
    expect(added).toEqual([]);
    expect(problems).toEqual([
      "app.exe can't be attached: only images (PNG, JPEG, GIF, WebP) and text files can.",
      `huge.png is ${formatSize(MAX_IMAGE_BYTES + 1)}: images can be ${formatSize(MAX_IMAGE_BYTES)} at most.`,
      "empty.txt is empty.",
    ]);
    const pdf = new File(["%PDF-1.7 ".repeat(100_000)], "report.pdf", { type: "application/pdf" });
    expect((await readFiles([pdf], [])).problems).toEqual(["report.pdf can't be attached: only images (PNG, JPEG, GIF, WebP) and text files can."]);
    const full = (await readFiles(Array.from({ length: MAX_FILES }, (_, i) => text(`${i}.txt`, "x")), [])).added;
    const more = await readFiles([text("one-more.txt", "x")], full);
    expect(more.problems).toEqual(["one-more.txt: a message can carry 8 files at most."]);
  });
});

const composer = () => screen.getByRole("textbox", { name: "Message" });
const picker = () => screen.getByTestId("attach-input");

describe("ChatView: attachments", () => {
  it("sends picked files with the message, shows them at once, then as saved", async () => {
    const stream = sseStream();
    let saved = FIRST;
    const { calls } = serve({ messages: () => saved, post: (req) => stream.response(req.signal) });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.upload(picker(), [png(), text("notes.md", "# Plan", "text/markdown"), text("extra.txt", "x")]);
    const list = await screen.findByRole("list", { name: "Attached files" });
    expect(within(list).getAllByRole("listitem")).toHaveLength(3);
    await userEvent.click(screen.getByRole("button", { name: "Remove extra.txt" }));
    expect(composer()).toHaveFocus();
    // Files alone are a message.
    expect(screen.getByRole("button", { name: "Send message" })).toBeEnabled();
    await userEvent.keyboard("{Enter}");

    const sent = calls.find((c) => c.method === "POST")?.body as { content: string; attachments: unknown[] };
    expect(sent.content).toBe("");
    expect(sent.attachments).toEqual([
      { name: "shot.png", media_type: "image/png", data: btoa(String.fromCharCode(...PNG)) },
      { name: "notes.md", media_type: "text/markdown", data: btoa("# Plan") },
    ]);
    // The box is empty again; the question shows its picture and file before the server answers.
    expect(within(composer().closest("form")!).queryByRole("list", { name: "Attached files" })).toBeNull();
    const question = screen.getAllByRole("listitem").find((li) => li.hasAttribute("data-live") && li.getAttribute("data-role") === "user")!;
    expect(within(question).getByRole("img", { name: "shot.png" })).toHaveAttribute("src", expect.stringMatching(/^data:image\/png;base64,/));
    expect(within(question).getByText("notes.md")).toBeInTheDocument();

    // Saved, the picture and the file come from the server.
    const files = [
      { name: "shot.png", media_type: "image/png", size: 10 },
      { name: "notes.md", media_type: "text/markdown", size: 6 },
    ];
    const user = message("u2", "user", "", { parent_id: "a1", attachments: files });
    const done = message("a2", "assistant", "A plan.", { parent_id: "u2" });
    saved = [...FIRST, user, done];
    act(() => stream.send("message", { ...user, assistant_message_id: "a2" }));
    act(() => stream.send("done", done));
    act(() => stream.close());
    const base = `/api/v1/workspaces/${WS_ID}/conversations/${CID}/messages/u2/attachments`;
    await waitFor(() => expect(screen.getByRole("img", { name: "shot.png" })).toHaveAttribute("src", `${base}/0`));
    const download = screen.getByRole("link", { name: /notes\.md/ });
    expect(download).toHaveAttribute("href", `${base}/1`);
    expect(download).toHaveAttribute("download", "notes.md");
    expect(screen.getByRole("link", { name: "shot.png, open full size in a new tab" })).toHaveAttribute("href", `${base}/0`);
  });

  it("a refused message says which file, and gives its files back to the box", async () => {
    const { calls } = serve({
      post: () => apiError(422, "validation_failed", "Some fields are invalid.", { fields: { "attachments[0].data": "is not the image its type says (image/png)" } }),
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.upload(picker(), [new File([new Uint8Array([0, 1, 2])], "blob.bin", { type: "" })]);
    expect(await screen.findByRole("alert")).toHaveTextContent("blob.bin can't be attached");
    await userEvent.upload(picker(), [png()]);
    await waitFor(() => expect(screen.queryByRole("alert")).toBeNull());
    await userEvent.type(composer(), "Look{Enter}");
    const refusal = await screen.findByRole("alert");
    expect(refusal).toHaveTextContent("A file can't be sent");
    expect(refusal).toHaveTextContent("File 1 is not the image its type says (image/png).");
    expect((calls.find((c) => c.method === "POST")?.body as { attachments: { name: string }[] }).attachments.map((a) => a.name)).toEqual(["shot.png"]);
    expect(within(composer().closest("form")!).queryByRole("list", { name: "Attached files" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Edit message" }));
    expect(composer()).toHaveValue("Look");
    const list = within(composer().closest("form")!).getByRole("list", { name: "Attached files" });
    expect(within(list).getByText("shot.png")).toBeInTheDocument();
  });

  it("pastes a screenshot as a file, and pasted text as text", async () => {
    serve();
    show();
    await screen.findByText("Hello! How can I help?");
    composer().focus();
    const screenshot = { files: [png("image.png")], getData: () => "", types: ["Files"], items: [] } as unknown as DataTransfer;
    await userEvent.paste(screenshot);
    // Every screenshot is "image.png": each gets a name of its own.
    expect(await screen.findByText("Pasted image 1.png")).toBeInTheDocument();
    await userEvent.paste(screenshot);
    expect(await screen.findByText("Pasted image 2.png")).toBeInTheDocument();
    await userEvent.paste("just words");
    // Copied text that carries a picture of itself too (an office suite's) pastes as text.
    await userEvent.paste({ files: [png("image.png")], getData: (t: string) => (t.startsWith("text") ? " and more" : ""), types: ["text/plain", "Files"], items: [] } as unknown as DataTransfer);
    expect(composer()).toHaveValue("just words and more");
    const list = within(composer().closest("form")!).getByRole("list", { name: "Attached files" });
    expect(within(list).getAllByRole("listitem")).toHaveLength(2);
  });

  it("files stay with their conversation's draft, and a new chat starts without them", async () => {
    serve({ routes: { "GET /api/v1/workspaces/:ws/conversations/:cid/share-link": () => json(200, { link: null, allowed: true }) } });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.upload(picker(), [text("notes.md", "# Plan")]);
    await screen.findByText("notes.md");
    await userEvent.click(screen.getAllByRole("button", { name: /New chat/ })[0]!);
    await screen.findByRole("heading", { name: "What can I help with?" });
    expect(within(composer().closest("form")!).queryByRole("list", { name: "Attached files" })).toBeNull();
    await userEvent.click(screen.getByRole("link", { name: /Trip plans/ }));
    await screen.findByText("Hello! How can I help?");
    expect(within(composer().closest("form")!).getByText("notes.md")).toBeInTheDocument();
  });

  it("files dropped anywhere on the page are attached, not opened", async () => {
    serve();
    show();
    await screen.findByText("Hello! How can I help?");
    const region = screen.getByRole("region", { name: "Messages" });
    const files = [png("dropped.png")];
    fireEvent.dragEnter(region, { dataTransfer: { types: ["Files"], files } });
    expect(screen.getByText("Drop files to attach them")).toBeInTheDocument();
    const dropped = fireEvent.drop(region, { dataTransfer: { types: ["Files"], files } });
    expect(dropped).toBe(false); // the browser's own handling (opening the file) was prevented
    expect(await within(composer().closest("form")!).findByText("dropped.png")).toBeInTheDocument();
    expect(screen.queryByText("Drop files to attach them")).toBeNull();
  });

  it("files picked in quick succession are held to the limit together", async () => {
    serve();
    show();
    await screen.findByText("Hello! How can I help?");
    const input = picker();
    fireEvent.change(input, { target: { files: Array.from({ length: MAX_FILES }, (_, i) => text(`${i}.txt`, "x")) } });
    fireEvent.change(input, { target: { files: [text("ninth.txt", "x")] } });
    expect(await screen.findByRole("alert")).toHaveTextContent("ninth.txt: a message can carry 8 files at most.");
    expect(within(screen.getByRole("list", { name: "Attached files" })).getAllByRole("listitem")).toHaveLength(MAX_FILES);
  });

  it("an edit keeps the message's files and says so", async () => {
    const files = [{ name: "shot.png", media_type: "image/png", size: 10 }];
    serve({ messages: () => [message("u1", "user", "What is this?", { attachments: files }), message("a1", "assistant", "A cat.", { parent_id: "u1" })] });
    show();
    await screen.findByText("A cat.");
    await userEvent.click(screen.getByRole("button", { name: "Edit and resend" }));
    expect(screen.getByText("Its attached file goes with it.")).toBeInTheDocument();
    // Its words may go: the picture is still a question.
    await userEvent.clear(screen.getByRole("textbox", { name: "Edit your message" }));
    expect(screen.getByRole("button", { name: "Send edit" })).toBeEnabled();
  });
});
