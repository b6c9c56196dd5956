import { z } from "zod";

const email = z
  .string()
  .trim()
  .min(1, "Enter your email address")
  .email("Enter an email address like name@example.com");

/** The server's rule: 8 to 256 characters. */
export const newPassword = z
  .string()
  .min(8, "Use at least 8 characters")
  .max(256, "Use at most 256 characters");

export const loginSchema = z.object({
  email,
  password: z.string().min(1, "Enter your password"),
});
export type LoginForm = z.infer<typeof loginSchema>;

export const signupSchema = z.object({
  name: z.string().trim().min(1, "Enter your name").max(100, "Keep your name to 100 characters or fewer"),
  email,
  password: newPassword,
});
export type SignupForm = z.infer<typeof signupSchema>;

export const changePasswordSchema = z
  .object({
    current_password: z.string().min(1, "Enter your current password"),
    new_password: newPassword,
    confirm: z.string().min(1, "Repeat the new password"),
  })
  .refine((v) => v.new_password === v.confirm, { path: ["confirm"], message: "The passwords don't match" })
  .refine((v) => v.new_password !== v.current_password, {
    path: ["new_password"],
    message: "Choose a password different from the current one",
  });
export type ChangePasswordForm = z.infer<typeof changePasswordSchema>;
