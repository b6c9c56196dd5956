import { Building2 } from "lucide-react";
import { Redirect } from "wouter";
import { useSession } from "@/api/session";
import { UserMenu } from "@/components/layout/UserMenu";
import { Logo } from "@/components/Logo";
import { useDocumentTitle } from "@/components/PageHeader";
import { Card } from "@/components/ui/card";
import { CreateWorkspaceForm } from "./CreateWorkspaceForm";

/** First run: a signed-in person with no workspace creates one (or opens their invitation). */
export function WelcomePage() {
  const { user, workspaces } = useSession();
  useDocumentTitle("Welcome");
  if (workspaces.length > 0) return <Redirect to="/" replace />;
  const first = user.name.split(/\s+/)[0] ?? user.name;
  return (
    <div className="flex min-h-dvh flex-col bg-[radial-gradient(ellipse_at_top,var(--primary-soft),transparent_60%)]">
      <header className="flex items-center justify-between px-4 py-3 sm:px-8">
        <Logo />
        <UserMenu compact />
      </header>
      <main id="main" className="flex flex-1 items-start justify-center px-4 pt-8 pb-16 sm:items-center sm:pt-0">
        <div className="grid w-full max-w-md gap-6">
          <div className="grid gap-2 text-center">
            <h1 tabIndex={-1} className="text-2xl font-semibold tracking-tight outline-none">
              Welcome to Nexus, {first}
            </h1>
            <p className="text-sm text-muted-foreground">
              Create a workspace for your team. You can invite people and switch on modules next.
            </p>
          </div>
          <Card className="p-6 shadow-lg">
            <div className="mb-4 flex items-center gap-3">
              <div className="flex size-9 items-center justify-center rounded-lg bg-primary-soft text-primary-soft-foreground">
                <Building2 className="size-4" aria-hidden />
              </div>
              <h2 className="font-semibold">Create your workspace</h2>
            </div>
            <CreateWorkspaceForm />
          </Card>
          <p className="text-center text-sm text-balance text-muted-foreground">
            Joining a team instead? Open the invitation link you were sent while signed in as{" "}
            <span className="font-medium text-foreground">{user.email}</span>.
          </p>
        </div>
      </main>
    </div>
  );
}
