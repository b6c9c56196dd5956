import { forwardRef, type InputHTMLAttributes, type TextareaHTMLAttributes } from "react";
import { cn } from "@/lib/cn";
import { fieldAria, useFieldControl } from "./form-field";

const base =
  "w-full min-w-0 rounded-md border border-input bg-card px-3 text-sm text-foreground shadow-xs transition-colors " +
  "placeholder:text-muted-foreground/80 focus-visible:border-ring focus-visible:ring-2 focus-visible:ring-ring/30 focus-visible:outline-none " +
  "disabled:cursor-not-allowed disabled:opacity-60 read-only:bg-muted/60 " +
  "aria-invalid:border-destructive aria-invalid:focus-visible:ring-destructive/25";

export const Input = forwardRef<HTMLInputElement, InputHTMLAttributes<HTMLInputElement>>(function Input(
  { className, type = "text", ...props },
  ref,
) {
  const field = useFieldControl();
  return <input ref={ref} type={type} className={cn(base, "h-9 py-1", className)} {...props} {...fieldAria(field, props)} />;
});

export const Textarea = forwardRef<HTMLTextAreaElement, TextareaHTMLAttributes<HTMLTextAreaElement>>(function Textarea(
  { className, ...props },
  ref,
) {
  const field = useFieldControl();
  return <textarea ref={ref} className={cn(base, "min-h-20 py-2", className)} {...props} {...fieldAria(field, props)} />;
});
