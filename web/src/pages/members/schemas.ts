import { z } from "zod";

export const roleSchema = z.enum(["viewer", "member", "admin", "owner"]);

export const inviteSchema = z.object({
  email: z.string().trim().min(1, "Enter the email address to invite").email("Enter an email address like name@example.com"),
  role: roleSchema,
});
export type InviteForm = z.infer<typeof inviteSchema>;
