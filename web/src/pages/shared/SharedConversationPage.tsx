/**
 * A conversation shared by a public link (`/shared/{token}`): read without signing in, as
 * it was when the link was made. The server sends only the messages' words, roles, models
 * and times.
 */
import { useQuery } from "@tanstack/react-query";
import { Link2Off } from "lucide-react";
import { useEffect } from "react";
import { Link, useParams } from "wouter";
import { api, type Schemas, unwrap } from "@/api/client";
import { isApiError } from "@/api/errors";
import { ErrorState } from "@/components/ErrorState";
import { ThemeCycleButton } from "@/components/layout/AuthLayout";
import { Logo } from "@/components/Logo";
import { useDocumentTitle } from "@/components/PageHeader";
import { buttonClasses } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime } from "@/lib/format";
import { type MessageActions, MessageItem, preloadMarkdown } from "@/pages/assistant/MessageItem";
import { type ChatMessage, plainMessage, toAttachments } from "@/pages/assistant/types";

type Shared = Schemas["SharedConversation"];

/** A reader of a shared conversation only reads (and copies). */
const READ_ONLY: MessageActions = {
  canWrite: false,
  busy: false,
  onRegenerate: () => {},
  onEdit: () => false,
  onSwitch: () => {},
};

function toMessages(shared: Shared): ChatMessage[] {
  return shared.messages.map((m, i) =>
    plainMessage(`shared-${i}`, m.role === "user" ? "user" : "assistant", m.content, {
      parentId: i > 0 ? `shared-${i - 1}` : null,
      status: m.status === "interrupted" || m.status === "error" ? m.status : "complete",
      model: m.model ?? null,
      // Named only: the files themselves are not shared.
      attachments: toAttachments(m.attachments),
      createdAt: m.created_at,
    }),
  );
}

/** Not for search engines, whatever the server said (it says so too). */
function useNoIndex() {
  useEffect(() => {
    const meta = document.createElement("meta");
    meta.name = "robots";
    meta.content = "noindex, nofollow";
    document.head.appendChild(meta);
    return () => meta.remove();
  }, []);
}

export function SharedConversationPage() {
  const { token = "" } = useParams<{ token: string }>();
  useNoIndex();
  useEffect(preloadMarkdown, []);
  const shared = useQuery({
    queryKey: ["shared", token],
    queryFn: () => unwrap(api.GET("/api/v1/shared/{token}", { params: { path: { token } } })),
    retry: (count, err) => count < 2 && (!isApiError(err) || err.isNetwork || err.status >= 500),
    // A fixed snapshot: read once; a reader coming back to the tab keeps what they read.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
  const title = shared.data ? shared.data.title || "Shared conversation" : "Shared conversation";
  useDocumentTitle(title);
  const gone = shared.isError && isApiError(shared.error) && shared.error.status === 404;

  return (
    <div className="flex min-h-dvh flex-col">
      <header className="flex items-center justify-between border-b px-4 py-3 sm:px-8">
        <Link href="/" aria-label="Nexus">
          <Logo />
        </Link>
        <ThemeCycleButton />
      </header>
      <main id="main" className="mx-auto flex w-full max-w-3xl flex-1 flex-col px-4 py-8 sm:px-6">
        {shared.isPending ? (
          <div className="grid gap-6" role="status" aria-busy="true" aria-label="Loading the conversation">
            <Skeleton className="h-8 w-2/3" />
            <Skeleton className="ml-auto h-10 w-1/2 rounded-2xl" />
            <Skeleton className="h-4 w-5/6" />
          </div>
        ) : gone && !shared.data ? (
          <EmptyState
            icon={Link2Off}
            title="This link doesn't work"
            description="It may have been taken down by whoever shared it, or copied incompletely. Ask them for the link again."
          />
        ) : !shared.data ? (
          <ErrorState error={shared.error} onRetry={() => shared.refetch()} />
        ) : (
          <article aria-labelledby="shared-title" className="grid gap-8">
            <div className="grid gap-1 border-b pb-6">
              <h1 id="shared-title" className="text-2xl font-semibold tracking-tight">
                {title}
              </h1>
              <p className="text-sm text-muted-foreground">Shared {formatDateTime(shared.data.shared_at)}</p>
            </div>
            <ol className="grid grid-cols-[minmax(0,1fr)] gap-6" aria-label="Conversation">
              {toMessages(shared.data).map((m) => (
                <MessageItem key={m.id} message={m} actions={READ_ONLY} askedBy="Question" />
              ))}
            </ol>
          </article>
        )}
      </main>
      <footer className="border-t px-4 py-4 text-center text-xs text-muted-foreground sm:px-8">
        Answers were written by AI and can be wrong. Shared from{" "}
        <Link href="/" className={buttonClasses("link", "sm", "h-auto p-0 text-xs")}>
          Nexus
        </Link>
        .
      </footer>
    </div>
  );
}
