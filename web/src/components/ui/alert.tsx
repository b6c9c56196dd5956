import { AlertTriangle, CircleAlert, Info } from "lucide-react";
import type { HTMLAttributes, ReactNode } from "react";
import { cn } from "@/lib/cn";

const variants = {
  info: { cls: "border-primary/25 bg-primary-soft text-primary-soft-foreground", Icon: Info },
  warning: { cls: "border-warning-soft-foreground/25 bg-warning-soft text-warning-soft-foreground", Icon: AlertTriangle },
  destructive: { cls: "border-destructive/30 bg-destructive-soft text-destructive-soft-foreground", Icon: CircleAlert },
} as const;

export function Alert({
  variant = "info",
  title,
  children,
  className,
  action,
  ...props
}: Omit<HTMLAttributes<HTMLDivElement>, "title"> & {
  variant?: keyof typeof variants;
  title?: ReactNode;
  action?: ReactNode;
}) {
  const { cls, Icon } = variants[variant];
  return (
    <div
      role={variant === "destructive" ? "alert" : "status"}
      className={cn("flex gap-3 rounded-lg border px-4 py-3 text-sm", cls, className)}
      {...props}
    >
      <Icon className="mt-0.5 size-4 shrink-0" aria-hidden />
      <div className="grid min-w-0 flex-1 gap-1">
        {title && <p className="font-medium">{title}</p>}
        {children && <div className="text-sm opacity-90">{children}</div>}
      </div>
      {action}
    </div>
  );
}
