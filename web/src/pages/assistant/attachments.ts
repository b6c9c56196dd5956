/**
 * Files attached to a message: images the model looks at, text files it reads. Checked here
 * against the server's limits before they are sent (the server checks them again), read as
 * base64 for the message's JSON body.
 */
import { apiUrl } from "@/api/client";

export const MAX_FILES = 8;
/** 5 MiB in base64, as Anthropic counts. */
export const MAX_IMAGE_BYTES = (5 * 1024 * 1024 * 3) / 4;
export const MAX_TEXT_BYTES = 512 * 1024;
export const MAX_TOTAL_BYTES = 20 * 1024 * 1024;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/** What a message's attachment is, as the chat shows it. */
export interface AttachmentView {
  name: string;
  mediaType: string;
  size: number;
  /** A `data:` URL of an image not sent yet (the file input's, or an optimistic message's). */
  preview?: string;
}

/** A file ready to go with the next message. */
export interface OutgoingFile extends AttachmentView {
  /** The bytes in base64. */
  data: string;
}

export const isImage = (mediaType: string) => IMAGE_TYPES.includes(mediaType);

/** "12 KB", "3.4 MB": a file's size as people read it. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The body's `attachments`, as the server reads them. */
export function toRequest(files: readonly OutgoingFile[]): { name: string; media_type: string; data: string }[] {
  return files.map((f) => ({ name: f.name, media_type: f.mediaType, data: f.data }));
}

/** What a sent file shows as in the optimistic message: its preview, not its bytes. */
export function toView({ name, mediaType, size, preview }: OutgoingFile): AttachmentView {
  return preview ? { name, mediaType, size, preview } : { name, mediaType, size };
}

/** The download address of a saved message's attachment (the API's, with the session cookie). */
export function attachmentUrl(workspaceId: string, conversationId: string, messageId: string, position: number): string {
  const [ws, cid, mid] = [workspaceId, conversationId, messageId].map(encodeURIComponent);
  return apiUrl(`/workspaces/${ws}/conversations/${cid}/messages/${mid}/attachments/${position}`);
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

async function bytesOf(file: File): Promise<Uint8Array> {
  // jsdom's File has no arrayBuffer(); a FileReader works everywhere.
  if (typeof file.arrayBuffer === "function") return new Uint8Array(await file.arrayBuffer());
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(file);
  });
}

function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Which image `bytes` are, by their first bytes (as the server tells them), if any. */
export function sniffImage(bytes: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61) return "image/gif";
  if (starts(0x52, 0x49, 0x46, 0x46) && [0x57, 0x45, 0x42, 0x50].every((b, i) => bytes[8 + i] === b)) return "image/webp";
  return null;
}

/** Images made smaller when too large to send (an animated GIF would lose its motion). */
const SHRINKABLE = ["image/png", "image/jpeg", "image/webp"];
/** The longest side of a photo made smaller: what the models look at in any case. */
const SHRUNK_SIDE = 2048;

/**
 * A photo too large to send, made smaller as chat apps do: at most 2048 pixels on its
 * longest side, as a JPEG (a transparent PNG gets a white background). Null where the
 * browser cannot draw it, or where it is still too large.
 */
export async function shrinkImage(file: File): Promise<File | null> {
  if (typeof createImageBitmap !== "function" || typeof document === "undefined") return null;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, SHRUNK_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const ctx = canvas.getContext("2d");
    if (!ctx) return null;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const jpeg = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    if (!jpeg || jpeg.size > MAX_IMAGE_BYTES) return null;
    return new File([jpeg], `${file.name.replace(/\.[^.]*$/, "") || "image"}.jpg`, { type: "image/jpeg" });
  } catch {
    return null;
  }
}

/** Types that are surely not text, refused by their type before their size is looked at. */
function surelyBinary(type: string): boolean {
  if (type.startsWith("image/")) return type !== "image/svg+xml";
  // TypeScript files are "video/mp2t" to browsers.
  if (type.startsWith("video/")) return type !== "video/mp2t";
  return type.startsWith("audio/") || type === "application/pdf" || type.includes("zip") || type.includes("msword") || type.includes("officedocument");
}

/**
 * Read `picked` to go with a message that already has `current`: those that can go, and
 * for each that cannot, a sentence saying why. An image is known by its bytes (a WebP
 * saved as ".png" goes as what it is).
 */
export async function readFiles(picked: readonly File[], current: readonly OutgoingFile[]): Promise<{ added: OutgoingFile[]; problems: string[] }> {
  const added: OutgoingFile[] = [];
  const problems: string[] = [];
  let total = current.reduce((sum, f) => sum + f.size, 0);
  const cannot = (name: string) => `${name} can't be attached: only images (PNG, JPEG, GIF, WebP) and text files can.`;
  for (const original of picked) {
    // A photo too large to send goes smaller, where the browser can make it so.
    const file = (original.size > MAX_IMAGE_BYTES && SHRINKABLE.includes(original.type) && (await shrinkImage(original))) || original;
    const name = file.name || "pasted";
    if (current.length + added.length >= MAX_FILES) {
      problems.push(`${name}: a message can carry ${MAX_FILES} files at most.`);
      continue;
    }
    if (file.size === 0) {
      problems.push(`${name} is empty.`);
      continue;
    }
    const bytes = file.size <= MAX_IMAGE_BYTES ? await bytesOf(file) : null;
    const image = bytes ? sniffImage(bytes) : null;
    if (!image) {
      if (isImage(file.type) && file.size > MAX_IMAGE_BYTES) {
        problems.push(`${name} is ${formatSize(file.size)}: images can be ${formatSize(MAX_IMAGE_BYTES)} at most.`);
        continue;
      }
      if (isImage(file.type) || surelyBinary(file.type)) {
        problems.push(cannot(name));
        continue;
      }
      if (file.size > MAX_TEXT_BYTES) {
        problems.push(`${name} is ${formatSize(file.size)}: text files can be ${formatSize(MAX_TEXT_BYTES)} at most.`);
        continue;
      }
      if (!bytes || !isText(bytes)) {
        problems.push(cannot(name));
        continue;
      }
    }
    if (total + file.size > MAX_TOTAL_BYTES) {
      problems.push(`${name}: a message's files can be ${formatSize(MAX_TOTAL_BYTES)} together at most.`);
      continue;
    }
    if (!bytes) continue; // (read above: every file that gets here is small enough)
    const data = base64(bytes);
    total += file.size;
    added.push(
      image
        ? { name, mediaType: image, size: file.size, data, preview: `data:${image};base64,${data}` }
        : { name, mediaType: file.type || "text/plain", size: file.size, data },
    );
  }
  return { added, problems };
}
