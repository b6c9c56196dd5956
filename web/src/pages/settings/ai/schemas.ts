import { z } from "zod";

/** "gpt-4o, gpt-4o-mini" or one per line → the list, without blanks or repeats. */
export function parseModelList(text: string): string[] {
  const out: string[] = [];
  for (const m of text.split(/[\s,]+/)) {
    const t = m.trim();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

/** The wire protocols a provider may speak, with what a person picking one needs to know. */
export const PROVIDER_APIS = {
  openai: {
    label: "OpenAI-compatible",
    description: "OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp, LiteLLM, OpenRouter…",
    baseUrl: "https://api.openai.com/v1",
    keyPlaceholder: "sk-…",
    modelsPlaceholder: "gpt-4o-mini, gpt-4o",
  },
  anthropic: {
    label: "Anthropic",
    description: "Claude, through Anthropic's Messages API",
    baseUrl: "https://api.anthropic.com/v1",
    keyPlaceholder: "sk-ant-…",
    modelsPlaceholder: "claude-haiku-4-5, claude-sonnet-4-5",
  },
} as const;
export type ProviderApi = keyof typeof PROVIDER_APIS;

/**
 * The base URL after switching protocol: a blank field or the other protocol's own
 * address becomes the chosen one's; anything typed by hand is kept.
 */
export function baseUrlForApi(current: string, api: ProviderApi): string {
  const trimmed = current.trim();
  const typedByHand = trimmed !== "" && !Object.values(PROVIDER_APIS).some((a) => a.baseUrl === trimmed);
  if (typedByHand) return current;
  if (api === "anthropic") return PROVIDER_APIS.anthropic.baseUrl;
  // OpenAI-compatible endpoints are many (often local): leave the choice blank.
  return trimmed === PROVIDER_APIS.anthropic.baseUrl ? "" : current;
}

/** A base URL as the server stores it: parsed, without trailing slashes. */
function normalisedUrl(url: string): string | null {
  try {
    return new URL(url.trim()).href.replace(/\/+$/, "");
  } catch {
    return null;
  }
}

/**
 * Whether a stored key must be entered again: the server only sends a key to the address
 * and protocol it was given for, so that changing the address cannot send it elsewhere.
 */
export function keyNeedsReentry(stored: { api: ProviderApi; base_url: string; has_api_key: boolean }, api: ProviderApi, baseUrl: string): boolean {
  return stored.has_api_key && (api !== stored.api || normalisedUrl(baseUrl) !== normalisedUrl(stored.base_url));
}

export const providerSchema = z.object({
  api: z.enum(["openai", "anthropic"]),
  name: z.string().trim().min(1, "Name the provider").max(100, "Keep the name to 100 characters or fewer"),
  base_url: z
    .string()
    .trim()
    .min(1, "Enter the base URL")
    .max(500, "Keep the URL to 500 characters or fewer")
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
      } catch {
        return false;
      }
    }, "Use an http(s) URL like https://api.openai.com/v1"),
  api_key: z.string().max(4096, "Keep the key under 4096 characters"),
  remove_key: z.boolean(),
  models: z
    .string()
    .refine((v) => parseModelList(v).length > 0, "List at least one model")
    .refine((v) => parseModelList(v).length <= 100, "List at most 100 models")
    .refine((v) => parseModelList(v).every((m) => m.length <= 200), "Each model name is at most 200 characters"),
  enabled: z.boolean(),
  /** Anthropic only: mark prompts for its prompt cache. */
  prompt_caching: z.boolean(),
});
export type ProviderForm = z.infer<typeof providerSchema>;

export const defaultsSchema = z.object({
  default_model: z.string(),
  small_model: z.string(),
  large_model: z.string(),
  fallback_models: z.array(z.string()).max(10, "Pick at most 10 fallback models"),
  member_monthly_tokens: z
    .string()
    .trim()
    .refine((v) => v === "" || /^\d+$/.test(v), "Enter a whole number of tokens, or leave it empty for no limit"),
  public_links: z.boolean(),
});
export type DefaultsForm = z.infer<typeof defaultsSchema>;

/** The Select's value for "not set". */
export const NONE = "__none__";
