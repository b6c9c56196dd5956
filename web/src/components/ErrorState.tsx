import { Ban, CircleAlert, Clock, FileQuestion, Lock, PowerOff, WifiOff } from "lucide-react";
import type { ReactNode } from "react";
import { describeError, isApiError } from "@/api/errors";
import { cn } from "@/lib/cn";
import { Button } from "./ui/button";

function iconFor(err: unknown) {
  if (!isApiError(err)) return CircleAlert;
  if (err.isNetwork) return WifiOff;
  if (err.code === "workspace_suspended") return Ban;
  if (err.code === "module_disabled") return PowerOff;
  if (err.status === 403) return Lock;
  if (err.status === 404) return FileQuestion;
  if (err.status === 429) return Clock;
  return CircleAlert;
}

/** A failed load, explained, with a retry where retrying can help. */
export function ErrorState({
  error,
  onRetry,
  action,
  className,
}: {
  error: unknown;
  onRetry?: () => void;
  action?: ReactNode;
  className?: string;
}) {
  const { title, description } = describeError(error);
  const Icon = iconFor(error);
  const retryable = !isApiError(error) || error.isNetwork || error.status >= 500 || error.status === 429;
  return (
    <div
      role="alert"
      className={cn("flex flex-col items-center gap-3 rounded-xl border bg-card px-6 py-12 text-center", className)}
    >
      <div className="flex size-11 items-center justify-center rounded-full bg-destructive-soft text-destructive-soft-foreground">
        <Icon className="size-5" aria-hidden />
      </div>
      <div className="grid max-w-md gap-1">
        <h2 className="text-sm font-semibold">{title}</h2>
        <p className="text-sm text-muted-foreground">{description}</p>
      </div>
      <div className="flex gap-2">
        {onRetry && retryable && (
          <Button variant="outline" size="sm" onClick={onRetry}>
            Try again
          </Button>
        )}
        {action}
      </div>
    </div>
  );
}
