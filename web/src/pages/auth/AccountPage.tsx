import { LogOut, Monitor, Moon, Sun } from "lucide-react";
import { useState } from "react";
import { useLocation } from "wouter";
import { useSession } from "@/api/session";
import { PageHeader } from "@/components/PageHeader";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Avatar } from "@/components/ui/avatar";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { toast, toastError } from "@/components/ui/toast";
import { cn } from "@/lib/cn";
import { formatDate } from "@/lib/format";
import { type ThemeChoice, useTheme } from "@/lib/theme";
import { useLogout } from "./api";
import { ChangePasswordForm } from "./ChangePasswordForm";

const THEMES: Array<{ value: ThemeChoice; label: string; icon: typeof Sun }> = [
  { value: "light", label: "Light", icon: Sun },
  { value: "dark", label: "Dark", icon: Moon },
  { value: "system", label: "System", icon: Monitor },
];

export function AccountPage() {
  const { user } = useSession();
  const { choice, setTheme } = useTheme();
  const logout = useLogout();
  const [, navigate] = useLocation();
  const [confirmAll, setConfirmAll] = useState(false);

  return (
    <>
      <PageHeader title="Account" description="Your profile, password, sessions and appearance." />
      <div className="grid gap-6">
        <Card>
          <CardContent className="flex flex-wrap items-center gap-4">
            <Avatar name={user.name} className="size-12 text-base" />
            <div className="grid min-w-0 flex-1 gap-0.5">
              <p className="flex flex-wrap items-center gap-2 font-semibold">
                {user.name}
                {user.is_system_admin && <Badge variant="primary">Operator</Badge>}
              </p>
              <p className="truncate text-sm text-muted-foreground">{user.email}</p>
            </div>
            <p className="text-sm text-muted-foreground">Member since {formatDate(user.created_at)}</p>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Password</CardTitle>
            <CardDescription>Changing it signs out every other session of your account.</CardDescription>
          </CardHeader>
          <CardContent>
            <ChangePasswordForm />
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Appearance</CardTitle>
            <CardDescription>Saved in this browser.</CardDescription>
          </CardHeader>
          <CardContent>
            <div role="group" aria-label="Theme" className="grid max-w-md grid-cols-3 gap-3">
              {THEMES.map(({ value, label, icon: Icon }) => (
                <button
                  key={value}
                  type="button"
                  aria-pressed={choice === value}
                  onClick={() => setTheme(value)}
                  className={cn(
                    "flex cursor-pointer flex-col items-center gap-2 rounded-lg border p-3 text-sm font-medium transition-colors focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none",
                    choice === value ? "border-primary bg-primary-soft text-primary-soft-foreground" : "hover:bg-accent",
                  )}
                >
                  <Icon className="size-5" aria-hidden />
                  {label}
                </button>
              ))}
            </div>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Sessions</CardTitle>
            <CardDescription>
              Lost a device, or signed in on a shared computer? Sign out everywhere, including this browser.
            </CardDescription>
          </CardHeader>
          <CardContent>
            <Button variant="destructive-outline" onClick={() => setConfirmAll(true)}>
              <LogOut aria-hidden /> Sign out everywhere
            </Button>
          </CardContent>
        </Card>
      </div>
      <ConfirmDialog
        open={confirmAll}
        onOpenChange={setConfirmAll}
        title="Sign out everywhere?"
        description="Every session of your account ends, this one included. You'll need your password to sign in again."
        confirmLabel="Sign out everywhere"
        destructive
        onConfirm={async () => {
          try {
            await logout.mutateAsync(true);
            toast({ title: "Signed out everywhere" });
          } catch (err) {
            toastError(err);
          }
          navigate("/login", { replace: true });
        }}
      />
    </>
  );
}
