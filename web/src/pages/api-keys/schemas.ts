import { z } from "zod";
import { roleSchema } from "@/pages/members/schemas";

export const EXPIRY_CHOICES = ["never", "30", "90", "365"] as const;
export type Expiry = (typeof EXPIRY_CHOICES)[number];

export const createKeySchema = z.object({
  name: z.string().trim().min(1, "Name the key after what uses it").max(100, "Keep the name to 100 characters or fewer"),
  role: roleSchema,
  expiry: z.enum(EXPIRY_CHOICES),
});
export type CreateKeyForm = z.infer<typeof createKeySchema>;

/** The `expires_at` the API wants for an expiry choice. */
export function expiresAt(choice: Expiry, now: Date = new Date()): string | null {
  if (choice === "never") return null;
  return new Date(now.getTime() + Number(choice) * 86_400_000).toISOString();
}
