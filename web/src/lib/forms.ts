/** Bridging server errors into react-hook-form. */
import type { FieldValues, Path, UseFormSetError } from "react-hook-form";
import { describeError, isApiError } from "@/api/errors";

export interface ServerErrorOptions<T extends FieldValues> {
  /** Human labels of the form's fields, keyed by form field name. */
  labels: Partial<Record<Path<T>, string>>;
  /** Server field names that differ from the form's (e.g. `expires_at` → `expiry`). */
  fieldMap?: Record<string, Path<T>>;
  /** Error codes that belong to one field (e.g. `email_taken` → `email`). */
  codeFields?: Record<string, Path<T>>;
}

function sentence(label: string | undefined, problem: string): string {
  const text = label ? `${label} ${problem}` : problem;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Put a server error on the form: a 422's `details.fields` onto their fields, a known code onto
 * its field, and anything else on `root.server` (shown above the buttons).
 */
export function applyServerError<T extends FieldValues>(
  err: unknown,
  setError: UseFormSetError<T>,
  { labels, fieldMap = {}, codeFields = {} }: ServerErrorOptions<T>,
): void {
  if (isApiError(err)) {
    const fields = err.fields;
    const target = (f: string) => (fieldMap[f] ?? f) as Path<T>;
    const known = Object.keys(fields).filter((f) => target(f) in labels);
    if (err.status === 422 && Object.keys(fields).length > 0) {
      known.forEach((f, i) =>
        setError(
          target(f),
          { type: "server", message: sentence(labels[target(f)], fields[f]!) },
          { shouldFocus: i === 0 },
        ),
      );
      const rest = Object.keys(fields).filter((f) => !known.includes(f));
      if (rest.length > 0) {
        setError("root.server" as Path<T>, {
          type: "server",
          message: rest.map((f) => sentence(f.replace(/_/g, " "), fields[f]!)).join(". "),
        });
      }
      return;
    }
    const field = codeFields[err.code];
    if (field) {
      setError(field, { type: "server", message: err.message }, { shouldFocus: true });
      return;
    }
  }
  setError("root.server" as Path<T>, { type: "server", message: describeError(err).description });
}
