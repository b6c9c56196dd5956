import { z } from "zod";

export const workspaceNameSchema = z
  .string()
  .trim()
  .min(1, "Give the workspace a name")
  .max(100, "Keep the name to 100 characters or fewer");

export const workspaceFormSchema = z.object({ name: workspaceNameSchema });
export type WorkspaceForm = z.infer<typeof workspaceFormSchema>;
