import { Alert } from "./ui/alert";

/** The form-level server error (react-hook-form's `root.server`). */
export function FormError({ message }: { message?: string }) {
  if (!message) return null;
  return <Alert variant="destructive">{message}</Alert>;
}
