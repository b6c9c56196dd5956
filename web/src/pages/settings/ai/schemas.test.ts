import { describe, expect, it } from "vitest";
import { baseUrlForApi, keyNeedsReentry, parseModelList, providerSchema } from "./schemas";

describe("baseUrlForApi", () => {
  it("fills Anthropic's address into a blank field", () => {
    expect(baseUrlForApi("", "anthropic")).toBe("https://api.anthropic.com/v1");
    expect(baseUrlForApi("https://api.openai.com/v1", "anthropic")).toBe("https://api.anthropic.com/v1");
  });

  it("clears Anthropic's address when switching back, and keeps OpenAI's", () => {
    expect(baseUrlForApi("https://api.anthropic.com/v1", "openai")).toBe("");
    expect(baseUrlForApi("https://api.openai.com/v1", "openai")).toBe("https://api.openai.com/v1");
    expect(baseUrlForApi("", "openai")).toBe("");
  });

  it("never overwrites an address typed by hand", () => {
    expect(baseUrlForApi("http://localhost:4000/v1", "anthropic")).toBe("http://localhost:4000/v1");
    expect(baseUrlForApi("https://gateway.example/anthropic/v1", "openai")).toBe("https://gateway.example/anthropic/v1");
  });
});

describe("providerSchema", () => {
  const valid = { api: "anthropic", name: "Claude", base_url: "https://api.anthropic.com/v1", api_key: "", remove_key: false, models: "claude-haiku-4-5", enabled: true, prompt_caching: true };

  it("accepts either protocol and refuses others", () => {
    expect(providerSchema.safeParse(valid).success).toBe(true);
    expect(providerSchema.safeParse({ ...valid, api: "openai" }).success).toBe(true);
    expect(providerSchema.safeParse({ ...valid, api: "gemini" }).success).toBe(false);
  });

  it("reads models separated by commas or lines", () => {
    expect(parseModelList("a, b\nb  c")).toEqual(["a", "b", "c"]);
  });
});

describe("keyNeedsReentry", () => {
  const stored = { api: "openai" as const, base_url: "https://api.openai.com/v1", has_api_key: true };

  it("keeps the key for the same address and protocol", () => {
    expect(keyNeedsReentry(stored, "openai", "https://api.openai.com/v1")).toBe(false);
    expect(keyNeedsReentry(stored, "openai", " https://API.openai.com/v1/ ")).toBe(false);
  });

  it("asks for it again for another address or protocol", () => {
    expect(keyNeedsReentry(stored, "openai", "https://collector.example/v1")).toBe(true);
    expect(keyNeedsReentry(stored, "openai", "https://api.openai.com/v1/other-account")).toBe(true);
    expect(keyNeedsReentry(stored, "anthropic", "https://api.openai.com/v1")).toBe(true);
  });

  it("has nothing to ask without a stored key", () => {
    expect(keyNeedsReentry({ ...stored, has_api_key: false }, "anthropic", "https://x.example/v1")).toBe(false);
  });
});
