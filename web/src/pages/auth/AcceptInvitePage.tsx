import { MailWarning } from "lucide-react";
import { useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { describeError, isApiError } from "@/api/errors";
import { useMe } from "@/api/session";
import { AuthLayout } from "@/components/layout/AuthLayout";
import { Alert } from "@/components/ui/alert";
import { Button, buttonClasses } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { toast } from "@/components/ui/toast";
import { useAcceptInvitation } from "@/pages/members/invitations-api";
import { wsPath } from "@/pages/workspaces/context";
import { useLogout } from "./api";

/** What went wrong accepting, in words that say what to do. */
export function explainAcceptError(err: unknown, signedInAs: string): { title: string; body: string } {
  if (isApiError(err)) {
    switch (err.code) {
      case "invitation_email_mismatch":
        return {
          title: "This invitation is for a different email address",
          body: `You're signed in as ${signedInAs}, but the invitation was sent to another address. Sign out, then sign in or create an account with the invited address and open the link again.`,
        };
      case "not_found":
        return {
          title: "This invitation link isn't valid",
          body: "Check that you copied the whole link, or ask the person who invited you for a new one.",
        };
      case "invitation_used":
      case "invitation_revoked":
      case "invitation_expired":
      case "already_member":
      case "seat_limit_reached":
      case "workspace_suspended":
        return { title: "Can't join this workspace", body: err.message };
    }
  }
  const d = describeError(err);
  return { title: d.title, body: d.description };
}

export function AcceptInvitePage() {
  const token = new URLSearchParams(useSearch()).get("token") ?? "";
  const [, navigate] = useLocation();
  const me = useMe();
  const accept = useAcceptInvitation();
  const logout = useLogout();
  const [error, setError] = useState<unknown>(null);
  const here = `/invite?token=${encodeURIComponent(token)}`;

  if (!token) {
    return (
      <AuthLayout title="Invitation link incomplete" description="This link has no invitation token.">
        <p className="text-sm text-muted-foreground">
          Open the full link you were sent, or ask the person who invited you to send it again.
        </p>
        <Link href="/" className={buttonClasses("outline", "md", "mt-6 w-full")}>
          Go to Nexus
        </Link>
      </AuthLayout>
    );
  }

  if (me.isPending) {
    return (
      <AuthLayout title="You're invited">
        <div className="grid gap-3" aria-busy>
          <Skeleton className="h-4 w-3/4 justify-self-center" />
          <Skeleton className="h-10 w-full" />
        </div>
      </AuthLayout>
    );
  }

  if (!me.data) {
    return (
      <AuthLayout
        title="You're invited to a Nexus workspace"
        description="Sign in or create an account with the email address the invitation was sent to."
      >
        <div className="grid gap-3">
          <Link href={`/signup?next=${encodeURIComponent(here)}`} className={buttonClasses("primary", "lg", "w-full")}>
            Create an account
          </Link>
          <Link href={`/login?next=${encodeURIComponent(here)}`} className={buttonClasses("outline", "lg", "w-full")}>
            I already have an account
          </Link>
        </div>
      </AuthLayout>
    );
  }

  const user = me.data.user;
  const explained = error ? explainAcceptError(error, user.email) : null;
  const mismatch = isApiError(error) && error.code === "invitation_email_mismatch";

  const onAccept = async () => {
    setError(null);
    try {
      const ws = await accept.mutateAsync(token);
      toast({ title: `Welcome to ${ws.name}`, description: `You joined as ${ws.role}.` });
      navigate(wsPath(ws.id, "members"), { replace: true });
    } catch (err) {
      setError(err);
    }
  };

  const switchAccount = async () => {
    try {
      await logout.mutateAsync(false);
    } finally {
      navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
    }
  };

  return (
    <AuthLayout
      title="Join the workspace"
      description={
        <>
          You'll join as <span className="font-medium text-foreground">{user.email}</span>.
        </>
      }
      footer={
        <Link href="/" className="hover:underline">
          Not now, go to my workspaces
        </Link>
      }
    >
      <div className="grid gap-4">
        {explained && (
          <Alert variant="destructive" title={explained.title}>
            {explained.body}
          </Alert>
        )}
        {mismatch ? (
          <Button size="lg" className="w-full" onClick={switchAccount} loading={logout.isPending}>
            <MailWarning aria-hidden /> Sign in with another account
          </Button>
        ) : (
          <Button size="lg" className="w-full" onClick={onAccept} loading={accept.isPending}>
            Accept invitation
          </Button>
        )}
        {!mismatch && (
          <p className="text-center text-xs text-muted-foreground">
            Not {user.email}?{" "}
            <button type="button" onClick={switchAccount} className="cursor-pointer font-medium text-primary hover:underline">
              Switch account
            </button>
          </p>
        )}
      </div>
    </AuthLayout>
  );
}
