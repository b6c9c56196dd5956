import { createContext, type ReactNode, useContext, useId } from "react";
import { cn } from "@/lib/cn";
import { Label } from "./label";

interface FieldIds {
  id: string;
  descriptionId?: string;
  errorId?: string;
  invalid: boolean;
}

const FieldContext = createContext<FieldIds | null>(null);

/** The ids and state of the enclosing Field, so controls wire their ARIA attributes. */
export function useFieldControl(): FieldIds | null {
  return useContext(FieldContext);
}

/** ARIA attributes for a control inside a Field (explicit props win). */
export function fieldAria(field: FieldIds | null, props: { id?: string; "aria-describedby"?: string; "aria-invalid"?: unknown }) {
  if (!field) return {};
  const describedBy = [props["aria-describedby"], field.descriptionId, field.errorId].filter(Boolean).join(" ");
  return {
    id: props.id ?? field.id,
    "aria-describedby": describedBy || undefined,
    "aria-invalid": (props["aria-invalid"] as boolean | undefined) ?? (field.invalid || undefined),
  };
}

export interface FieldProps {
  label: ReactNode;
  /** Help text under the control. */
  description?: ReactNode;
  error?: string;
  children: ReactNode;
  className?: string;
  /** Put the label after the control (switches, checkboxes). */
  inline?: boolean;
  id?: string;
}

export function Field({ label, description, error, children, className, inline, id }: FieldProps) {
  const auto = useId();
  const controlId = id ?? `field-${auto}`;
  const ids: FieldIds = {
    id: controlId,
    descriptionId: description ? `${controlId}-description` : undefined,
    errorId: error ? `${controlId}-error` : undefined,
    invalid: Boolean(error),
  };
  return (
    <FieldContext.Provider value={ids}>
      <div className={cn("grid gap-1.5", className)}>
        {inline ? (
          <div className="flex items-center justify-between gap-4">
            <Label htmlFor={controlId}>{label}</Label>
            {children}
          </div>
        ) : (
          <>
            <Label htmlFor={controlId}>{label}</Label>
            {children}
          </>
        )}
        {description && !error && (
          <p id={ids.descriptionId} className="text-xs text-muted-foreground">
            {description}
          </p>
        )}
        {error && (
          <p id={ids.errorId} className="text-xs font-medium text-destructive" role="alert">
            {error}
          </p>
        )}
      </div>
    </FieldContext.Provider>
  );
}
