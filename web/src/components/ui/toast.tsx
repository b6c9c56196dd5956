import * as ToastPrimitive from "@radix-ui/react-toast";
import { CheckCircle2, CircleAlert, Info, X } from "lucide-react";
import { type ReactNode, useSyncExternalStore } from "react";
import { describeError } from "@/api/errors";
import { cn } from "@/lib/cn";

export type ToastVariant = "success" | "error" | "info";

interface ToastItem {
  id: number;
  title: string;
  description?: ReactNode;
  variant: ToastVariant;
  open: boolean;
}

let items: ToastItem[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function emit() {
  listeners.forEach((l) => l());
}

function dismiss(id: number) {
  items = items.map((t) => (t.id === id ? { ...t, open: false } : t));
  emit();
  // Leave time for the close animation before forgetting it.
  setTimeout(() => {
    items = items.filter((t) => t.id !== id);
    emit();
  }, 300);
}

/** Show a toast; returns its id. */
export function toast(input: { title: string; description?: ReactNode; variant?: ToastVariant }): number {
  const id = nextId++;
  items = [...items.slice(-3), { id, open: true, variant: input.variant ?? "success", ...input }];
  emit();
  return id;
}

/** A toast describing a failed action in words a person can act on. */
export function toastError(err: unknown, fallbackTitle?: string): void {
  const { title, description } = describeError(err);
  toast({ variant: "error", title: fallbackTitle && title === "That didn't work" ? fallbackTitle : title, description });
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

const icons = { success: CheckCircle2, error: CircleAlert, info: Info };
const iconColours = { success: "text-success", error: "text-destructive", info: "text-primary" };

export function Toaster() {
  const list = useSyncExternalStore(subscribe, () => items, () => items);
  return (
    <ToastPrimitive.Provider swipeDirection="right" duration={5000}>
      {list.map((t) => {
        const Icon = icons[t.variant];
        return (
          <ToastPrimitive.Root
            key={t.id}
            open={t.open}
            onOpenChange={(open) => !open && dismiss(t.id)}
            type={t.variant === "error" ? "foreground" : "background"}
            duration={t.variant === "error" ? 8000 : 5000}
            className={cn(
              "pointer-events-auto relative flex w-full items-start gap-3 rounded-xl border bg-popover p-4 pr-10 text-popover-foreground shadow-lg",
              "data-[state=open]:animate-slide-in-bottom data-[state=closed]:opacity-0 data-[state=closed]:transition-opacity",
              "data-[swipe=move]:translate-x-[var(--radix-toast-swipe-move-x)] data-[swipe=end]:translate-x-[var(--radix-toast-swipe-end-x)]",
            )}
            data-variant={t.variant}
          >
            <Icon className={cn("mt-0.5 size-5 shrink-0", iconColours[t.variant])} aria-hidden />
            <div className="grid gap-0.5">
              <ToastPrimitive.Title className="text-sm font-semibold">{t.title}</ToastPrimitive.Title>
              {t.description && (
                <ToastPrimitive.Description className="text-sm break-words text-muted-foreground">
                  {t.description}
                </ToastPrimitive.Description>
              )}
            </div>
            <ToastPrimitive.Close
              aria-label="Dismiss notification"
              className="absolute top-3 right-3 rounded-md p-1 text-muted-foreground hover:bg-accent hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
            >
              <X className="size-4" aria-hidden />
            </ToastPrimitive.Close>
          </ToastPrimitive.Root>
        );
      })}
      <ToastPrimitive.Viewport
        label="Notifications ({hotkey})"
        className="fixed right-0 bottom-0 z-[100] flex max-h-dvh w-full flex-col gap-2 p-4 outline-none sm:max-w-sm"
      />
    </ToastPrimitive.Provider>
  );
}
