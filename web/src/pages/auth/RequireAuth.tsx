import type { ReactNode } from "react";
import { Redirect, useLocation, useSearch } from "wouter";
import { useMe, wasSignedOutOnPurpose } from "@/api/session";
import { ErrorState } from "@/components/ErrorState";
import { LogoMark } from "@/components/Logo";
import { loginPathFor } from "@/lib/redirect";

/** Signed-in routes: loading → a quiet splash; signed out → login, coming back here after. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const me = useMe();
  const [location] = useLocation();
  const search = useSearch();

  if (me.isPending) {
    return (
      <div className="flex min-h-dvh items-center justify-center" aria-busy aria-label="Loading Nexus">
        <LogoMark className="size-10 animate-shimmer" />
      </div>
    );
  }
  if (me.isError && !me.data) {
    return (
      <div className="mx-auto flex min-h-dvh max-w-lg items-center px-4">
        <ErrorState className="w-full" error={me.error} onRetry={() => me.refetch()} />
      </div>
    );
  }
  if (!me.data) {
    const here = `${location}${search ? `?${search}` : ""}`;
    return <Redirect to={wasSignedOutOnPurpose() ? "/login" : loginPathFor(here)} replace />;
  }
  return <>{children}</>;
}
