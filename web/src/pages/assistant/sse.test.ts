import { describe, expect, it } from "vitest";
import { readSse, type SseEvent, SseParser } from "./sse";

function parse(chunks: string[]): SseEvent[] {
  const out: SseEvent[] = [];
  const p = new SseParser((e) => out.push(e));
  for (const c of chunks) p.feed(c);
  p.end();
  return out;
}

describe("SseParser", () => {
  it("reads several events from one chunk", () => {
    expect(parse(['event: delta\ndata: {"text":"a"}\n\nevent: delta\ndata: {"text":"b"}\n\n'])).toEqual([
      { event: "delta", data: '{"text":"a"}' },
      { event: "delta", data: '{"text":"b"}' },
    ]);
  });

  it("joins an event split anywhere across chunks, even inside a field name", () => {
    const text = 'event: done\ndata: {"id":"m1"}\n\n';
    for (let i = 1; i < text.length; i++) {
      expect(parse([text.slice(0, i), text.slice(i)])).toEqual([{ event: "done", data: '{"id":"m1"}' }]);
    }
    expect(parse(text.split(""))).toEqual([{ event: "done", data: '{"id":"m1"}' }]);
  });

  it("accepts CRLF and CR line ends, including a CRLF split between chunks", () => {
    expect(parse(["event: a\r\ndata: 1\r\n\r\n", "event: b\rdata: 2\r\r"])).toEqual([
      { event: "a", data: "1" },
      { event: "b", data: "2" },
    ]);
    // "\r" ends one chunk and "\n" starts the next: one line end, not two (no early dispatch).
    expect(parse(["event: c\r", "\ndata: 3\r", "\n\r", "\n"])).toEqual([{ event: "c", data: "3" }]);
    // An empty chunk (the decoder may give one) between the CR and its LF changes nothing.
    expect(parse(["event: d\r", "", "\ndata: 4\r\n\r\n"])).toEqual([{ event: "d", data: "4" }]);
  });

  it("skips comment lines (keep-alives) and blank-only chunks", () => {
    expect(parse([": keep-alive\n\n", ":\n", "event: delta\n: in between\ndata: x\n\n", "\n\n"])).toEqual([
      { event: "delta", data: "x" },
    ]);
  });

  it("joins multi-line data with newlines, drops one leading space, defaults the type", () => {
    expect(parse(["data: line one\ndata:line two\ndata:  indented\n\n"])).toEqual([
      { event: "message", data: "line one\nline two\n indented" },
    ]);
  });

  it("drops an unfinished event at the end and a leading BOM", () => {
    expect(parse(["\uFEFFevent: a\ndata: 1\n\nevent: b\ndata: 2"])).toEqual([{ event: "a", data: "1" }]);
  });

  it("ignores fields it doesn't know and keeps the last id", () => {
    expect(parse(["id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n"])).toEqual([{ event: "message", data: "x", id: "7" }]);
  });
});

describe("readSse", () => {
  it("decodes UTF-8 split inside a character across network chunks", async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"héllo → 世界"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    await readSse(body, (e) => events.push(e));
    expect(events).toEqual([{ event: "delta", data: '{"text":"héllo → 世界"}' }]);
  });
});
