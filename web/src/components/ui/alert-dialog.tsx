import * as AlertPrimitive from "@radix-ui/react-alert-dialog";
import { type ReactNode, useState } from "react";
import { cn } from "@/lib/cn";
import { Button, buttonClasses } from "./button";
import { overlayClasses } from "./dialog";

export interface ConfirmDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: ReactNode;
  description: ReactNode;
  confirmLabel: string;
  /** Red confirm button for actions that destroy or revoke. */
  destructive?: boolean;
  /** Runs on confirm; the dialog stays open with a spinner until it settles, and closes on success. */
  onConfirm: () => Promise<unknown> | void;
  /** Extra content (e.g. a "type the name" field) between the text and the buttons. */
  children?: ReactNode;
  /** Block the confirm button (e.g. until the name is typed). */
  confirmDisabled?: boolean;
}

/** An accessible confirmation (role="alertdialog"): Cancel has focus first, Escape cancels. */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  destructive,
  onConfirm,
  children,
  confirmDisabled,
}: ConfirmDialogProps) {
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      await onConfirm();
      onOpenChange(false);
    } catch {
      // The caller reports the error (toast); keep the dialog open to retry or cancel.
    } finally {
      setBusy(false);
    }
  };
  return (
    <AlertPrimitive.Root open={open} onOpenChange={(o) => !busy && onOpenChange(o)}>
      <AlertPrimitive.Portal>
        <AlertPrimitive.Overlay className={overlayClasses} />
        <AlertPrimitive.Content
          className={cn(
            "fixed top-1/2 left-1/2 z-50 grid w-[calc(100vw-2rem)] max-w-md -translate-x-1/2 -translate-y-1/2 gap-4",
            "rounded-xl border bg-popover p-6 text-popover-foreground shadow-2xl data-[state=open]:animate-zoom-in focus:outline-none",
          )}
        >
          <div className="grid gap-1.5">
            <AlertPrimitive.Title className="text-lg font-semibold tracking-tight">{title}</AlertPrimitive.Title>
            <AlertPrimitive.Description className="text-sm text-muted-foreground">{description}</AlertPrimitive.Description>
          </div>
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              if (!confirmDisabled) void run();
            }}
          >
            {children}
            <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
              <AlertPrimitive.Cancel className={buttonClasses("outline")} disabled={busy}>
                Cancel
              </AlertPrimitive.Cancel>
              <Button type="submit" variant={destructive ? "destructive" : "primary"} loading={busy} disabled={confirmDisabled}>
                {confirmLabel}
              </Button>
            </div>
          </form>
        </AlertPrimitive.Content>
      </AlertPrimitive.Portal>
    </AlertPrimitive.Root>
  );
}
