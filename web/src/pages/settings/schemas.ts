import { z } from "zod";

/** The server's rule for secret names: 1–100 of A–Z a–z 0–9 _ - . */
export const secretNameSchema = z
  .string()
  .trim()
  .min(1, "Name the secret")
  .max(100, "Keep the name to 100 characters or fewer")
  .regex(/^[A-Za-z0-9_.-]+$/, "Use only letters, digits, _, - and .");

export const secretSchema = z.object({
  name: secretNameSchema,
  value: z
    .string()
    .min(1, "Enter the value")
    .refine((v) => new TextEncoder().encode(v).length <= 64 * 1024, "Keep the value under 64 KiB"),
});
export type SecretForm = z.infer<typeof secretSchema>;

export function deleteConfirmMatches(typed: string, workspaceName: string): boolean {
  return typed.trim() === workspaceName.trim();
}
