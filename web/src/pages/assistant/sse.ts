/**
 * Server-Sent Events over fetch. EventSource can only GET, and sending a message is a POST,
 * so the stream is read by hand. The parser follows the WHATWG rules: lines end in LF, CR or
 * CRLF (a CRLF may be split across chunks), `:` starts a comment (keep-alives), a blank line
 * dispatches, `data` lines join with "\n", one leading space after the colon is dropped.
 */

export interface SseEvent {
  /** The `event:` field; "message" when absent. */
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private eventType = "";
  private lastId: string | undefined;
  private pendingCr = false;
  private started = false;

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  /** Feed decoded text; complete events are dispatched as their blank line arrives. */
  feed(chunk: string): void {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A CR ended the previous chunk: an LF starting this one belongs to the same line end.
    // An empty chunk says nothing about it: the LF may still come.
    if (text.length === 0) return;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (text.startsWith("\n")) text = text.slice(1);
    }
    const buf = this.buffer + text;
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c !== "\n" && c !== "\r") continue;
      const line = buf.slice(start, i);
      if (c === "\r") {
        if (i + 1 < buf.length) {
          if (buf[i + 1] === "\n") i++;
        } else {
          this.pendingCr = true;
        }
      }
      this.line(line);
      start = i + 1;
    }
    this.buffer = buf.slice(start);
  }

  /** The stream ended: an event without its closing blank line is dropped, as the spec says. */
  end(): void {
    this.buffer = "";
    this.data = [];
    this.eventType = "";
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.lastId = value;
        break;
      default:
        // `retry` and unknown fields do not concern a one-shot stream.
        break;
    }
  }

  private dispatch(): void {
    if (this.data.length === 0) {
      this.eventType = "";
      return;
    }
    const event: SseEvent = { event: this.eventType || "message", data: this.data.join("\n") };
    if (this.lastId !== undefined) event.id = this.lastId;
    this.data = [];
    this.eventType = "";
    this.onEvent(event);
  }
}

/** Read a response body as SSE until it ends; resolves when the server closes the stream. */
export async function readSse(body: ReadableStream<Uint8Array>, onEvent: (event: SseEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser(onEvent);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    parser.feed(decoder.decode());
    parser.end();
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // Already released by an abort.
    }
  }
}
