import { Monitor, Moon, Sun } from "lucide-react";
import type { ReactNode } from "react";
import { Logo } from "@/components/Logo";
import { useDocumentTitle } from "@/components/PageHeader";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { useTheme } from "@/lib/theme";

export function ThemeCycleButton() {
  const { choice, setTheme } = useTheme();
  const next = choice === "light" ? "dark" : choice === "dark" ? "system" : "light";
  const Icon = choice === "light" ? Sun : choice === "dark" ? Moon : Monitor;
  return (
    <Button variant="ghost" size="icon" aria-label={`Theme: ${choice}. Switch to ${next}`} onClick={() => setTheme(next)}>
      <Icon aria-hidden />
    </Button>
  );
}

/** Centered card for signing in, signing up and accepting invitations. */
export function AuthLayout({
  title,
  description,
  children,
  footer,
}: {
  title: string;
  description?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
}) {
  useDocumentTitle(title);
  return (
    <div className="flex min-h-dvh flex-col bg-[radial-gradient(ellipse_at_top,var(--primary-soft),transparent_60%)]">
      <header className="flex items-center justify-between px-4 py-4 sm:px-8">
        <Logo />
        <ThemeCycleButton />
      </header>
      <main id="main" className="flex flex-1 items-start justify-center px-4 pt-6 pb-16 sm:items-center sm:pt-0">
        <div className="w-full max-w-sm">
          <Card className="p-6 shadow-lg sm:p-8">
            <div className="mb-6 grid gap-1.5 text-center">
              <h1 className="text-xl font-semibold tracking-tight">{title}</h1>
              {description && <p className="text-sm text-muted-foreground">{description}</p>}
            </div>
            {children}
          </Card>
          {footer && <div className="mt-6 text-center text-sm text-muted-foreground">{footer}</div>}
        </div>
      </main>
    </div>
  );
}
