import { Archive, ArchiveRestore, FileUp, Link2, MessageSquarePlus, MoreHorizontal, Pencil, Pin, PinOff, Search, Trash2, Users, X } from "lucide-react";
import { forwardRef, useEffect, useRef, useState } from "react";
import { Link, useLocation } from "wouter";
import type { ConversationView } from "@/api/client";
import { ErrorState } from "@/components/ErrorState";
import { LoadMore } from "@/components/LoadMore";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuSeparator, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { toast, toastError } from "@/components/ui/toast";
import { cn } from "@/lib/cn";
import { formatRelative } from "@/lib/format";
import { useWorkspace } from "@/pages/workspaces/context";
import { type ConversationImport, useConversations, useDeleteConversation, useImportConversation, useUpdateConversation } from "./api";
import { matchHref } from "./jump";
import { IS_MAC, MOD_KEY } from "./shortcuts";
import { usePublicConversations } from "./links";

export const UNTITLED = "New conversation";

export function titleOf(c: Pick<ConversationView, "title"> | undefined): string {
  return c?.title.trim() || UNTITLED;
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export interface ConversationListProps {
  activeId: string | null;
  onNewChat: () => void;
  onNavigate?: () => void;
  /** The conversation open in the chat was deleted. */
  onDeletedActive: () => void;
}

/** The left panel: search, new chat, the conversations (pinned first) and the archive. */
export const ConversationList = forwardRef<HTMLInputElement, ConversationListProps>(function ConversationList(
  { activeId, onNewChat, onNavigate, onDeletedActive },
  searchRef,
) {
  const ws = useWorkspace();
  const [query, setQuery] = useState("");
  const [archived, setArchived] = useState(false);
  const q = useDebounced(query.trim(), 250);
  const list = useConversations(ws.id, q, archived);
  const update = useUpdateConversation(ws.id);
  const del = useDeleteConversation(ws.id);
  const [renaming, setRenaming] = useState<ConversationView | null>(null);
  const [deleting, setDeleting] = useState<ConversationView | null>(null);
  const canUse = ws.can("use_assistant");
  // Once the list has loaded: with the assistant switched off the server refuses both.
  const publicIds = usePublicConversations(ws.id, canUse && list.isSuccess).data;
  const importing = useImportConversation(ws.id);
  const fileInput = useRef<HTMLInputElement>(null);
  const [, navigate] = useLocation();
  const items = list.items;
  const pinned = items.filter((c) => c.pinned);
  const rest = items.filter((c) => !c.pinned);

  const patch = async (c: ConversationView, body: { pinned?: boolean; archived?: boolean }, done: string) => {
    try {
      await update.mutateAsync({ id: c.id, ...body });
      toast({ title: done });
    } catch (err) {
      toastError(err);
    }
  };

  /** A file from `…/export?format=json` becomes a new conversation, opened at once. */
  const importFile = async (file: File) => {
    let body: ConversationImport;
    try {
      body = JSON.parse(await file.text()) as ConversationImport;
    } catch {
      toast({ variant: "error", title: "Couldn't import", description: `${file.name} isn't a conversation exported as JSON.` });
      return;
    }
    try {
      const c = await importing.mutateAsync(body);
      toast({ title: "Imported", description: titleOf(c) });
      onNavigate?.();
      navigate(`/w/${ws.id}/assistant/${c.id}`);
    } catch (err) {
      toastError(err);
    }
  };

  const row = (c: ConversationView) => (
    <ConversationRow
      key={c.id}
      c={c}
      searched={q}
      active={c.id === activeId}
      isPublic={publicIds?.has(c.id) ?? false}
      onNavigate={onNavigate}
      onRename={() => setRenaming(c)}
      onPin={() => patch(c, { pinned: !c.pinned }, c.pinned ? "Unpinned" : "Pinned")}
      onArchive={() => patch(c, { archived: !c.archived }, c.archived ? "Moved out of the archive" : "Archived")}
      onDelete={() => setDeleting(c)}
    />
  );

  return (
    <div className="flex h-full min-h-0 flex-col">
      {/* One column no wider than the panel: the buttons and the search box shrink to it
          rather than push past its edge. */}
      <div className="grid grid-cols-[minmax(0,1fr)] gap-2 p-3">
        {canUse && (
          <div className="flex gap-2">
            {/* The shortcut is in the title (and the empty chat lists it): beside the
                import button, its keys do not fit the panel's width. */}
            <Button
              onClick={onNewChat}
              className="min-w-0 flex-1 justify-start"
              variant="outline"
              title={`New chat (${MOD_KEY}+Shift+O)`}
              aria-keyshortcuts={IS_MAC ? "Meta+Shift+O" : "Control+Shift+O"}
            >
              <MessageSquarePlus aria-hidden /> New chat
            </Button>
            <Button
              variant="outline"
              size="icon"
              aria-label="Import a conversation (JSON export)"
              title="Import a conversation (JSON export)"
              loading={importing.isPending}
              onClick={() => fileInput.current?.click()}
            >
              <FileUp aria-hidden />
            </Button>
            <input
              ref={fileInput}
              type="file"
              accept="application/json,.json"
              className="hidden"
              data-testid="import-file"
              onChange={(e) => {
                const file = e.target.files?.[0];
                e.target.value = "";
                if (file) void importFile(file);
              }}
            />
          </div>
        )}
        <div className="relative">
          <Search className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted-foreground" aria-hidden />
          <Input
            ref={searchRef}
            type="search"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape" && query) {
                e.preventDefault();
                setQuery("");
              }
            }}
            aria-label="Search conversations"
            placeholder={`Search  (${MOD_KEY}+K)`}
            className="pl-8 [&::-webkit-search-cancel-button]:hidden"
          />
          {query && (
            <button
              type="button"
              onClick={() => setQuery("")}
              aria-label="Clear search"
              className="absolute top-1/2 right-1.5 -translate-y-1/2 cursor-pointer rounded p-1 text-muted-foreground hover:bg-accent hover:text-foreground"
            >
              <X className="size-3.5" aria-hidden />
            </button>
          )}
        </div>
      </div>
      <nav aria-label="Conversations" className="min-h-0 flex-1 overflow-y-auto px-2 pb-2">
        {list.isError ? (
          <ErrorState error={list.error} onRetry={() => list.refetch()} className="px-3 py-6" />
        ) : list.isPending ? (
          <div className="grid gap-2 px-2 pt-1" aria-hidden>
            {Array.from({ length: 5 }, (_, i) => (
              <Skeleton key={i} className="h-8" />
            ))}
          </div>
        ) : items.length === 0 ? (
          <p className="px-3 py-6 text-center text-sm text-muted-foreground" role="status">
            {q ? `No conversations match “${q}”.` : archived ? "Nothing archived." : canUse ? "No conversations yet. Start one with New chat." : "No conversations are shared with the workspace yet."}
          </p>
        ) : (
          <>
            {pinned.length > 0 && !archived && (
              <>
                <h2 className="px-2.5 pt-1 pb-1 text-xs font-medium text-muted-foreground">Pinned</h2>
                <ul className="flex flex-col gap-0.5" aria-label="Pinned conversations">
                  {pinned.map(row)}
                </ul>
                {rest.length > 0 && <h2 className="px-2.5 pt-3 pb-1 text-xs font-medium text-muted-foreground">Recent</h2>}
              </>
            )}
            <ul className="flex flex-col gap-0.5" aria-label={archived ? "Archived conversations" : q ? "Search results" : "Recent conversations"}>
              {(archived ? items : rest).map(row)}
            </ul>
            <LoadMore hasNextPage={list.hasNextPage} isFetchingNextPage={list.isFetchingNextPage} fetchNextPage={list.fetchNextPage} auto />
          </>
        )}
      </nav>
      <div className="flex items-center justify-between gap-2 border-t px-4 py-2.5">
        <label htmlFor="show-archived" className="text-sm text-muted-foreground">
          Show archived
        </label>
        <Switch id="show-archived" checked={archived} onCheckedChange={setArchived} />
      </div>

      <RenameDialog
        conversation={renaming}
        onClose={() => setRenaming(null)}
        onSave={async (title) => {
          if (!renaming) return;
          await update.mutateAsync({ id: renaming.id, title });
          toast({ title: "Renamed" });
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={`Delete “${titleOf(deleting ?? undefined)}”?`}
        description="The conversation and all its messages are deleted for everyone. This can't be undone."
        confirmLabel="Delete conversation"
        destructive
        onConfirm={async () => {
          if (!deleting) return;
          try {
            await del.mutateAsync(deleting.id);
            toast({ title: "Conversation deleted" });
            if (deleting.id === activeId) onDeletedActive();
            del.forget(deleting.id);
          } catch (err) {
            toastError(err, "Couldn't delete the conversation");
            throw err;
          }
        }}
      />
    </div>
  );
});

/** `text` with each place `words` occur (ignoring case) marked. */
export function highlighted(text: string, words: string): React.ReactNode[] {
  const needle = words.toLowerCase();
  if (!needle) return [text];
  const lower = text.toLowerCase();
  const out: React.ReactNode[] = [];
  let from = 0;
  // Lower-casing keeps most texts' length; where it doesn't, the marks are skipped.
  if (lower.length !== text.length) return [text];
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, from)) {
    out.push(text.slice(from, at), <mark key={at}>{text.slice(at, at + needle.length)}</mark>);
    from = at + needle.length;
  }
  out.push(text.slice(from));
  return out;
}

function ConversationRow({
  c,
  searched,
  active,
  isPublic,
  onNavigate,
  onRename,
  onPin,
  onArchive,
  onDelete,
}: {
  c: ConversationView;
  /** Anyone with its public link can read it. */
  isPublic: boolean;
  /** The search the list shows (its words are marked in a match's text). */
  searched: string;
  active: boolean;
  onNavigate?: () => void;
  onRename: () => void;
  onPin: () => void;
  onArchive: () => void;
  onDelete: () => void;
}) {
  const ws = useWorkspace();
  const title = titleOf(c);
  const href = `/w/${ws.id}/assistant/${c.id}`;
  return (
    <li className="group/row relative" data-conversation-id={c.id}>
      <Link
        // A search result opens at the message that matched.
        href={c.matched ? matchHref(href, c.matched.message_id, searched) : href}
        onClick={onNavigate}
        aria-current={active ? "page" : undefined}
        className={cn(
          "flex min-h-9 items-center gap-2 rounded-md py-1.5 pr-9 pl-2.5 text-sm transition-colors focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none",
          active ? "bg-primary-soft font-medium text-primary-soft-foreground" : "text-foreground hover:bg-accent",
        )}
      >
        {c.pinned && <Pin className="size-3.5 shrink-0 -rotate-45 text-primary" aria-label="Pinned" />}
        <span className="grid min-w-0 flex-1">
          <span className={cn("truncate", !c.title.trim() && "text-muted-foreground italic")} data-conversation-title>
            {title}
          </span>
          {c.matched && (
            // Why a search found it: the words in a message, with some text around them.
            <span className="line-clamp-2 text-xs font-normal text-muted-foreground [&_mark]:rounded-sm [&_mark]:bg-warning-soft [&_mark]:px-0.5 [&_mark]:text-foreground" data-match>
              {highlighted(c.matched.snippet, searched)}
            </span>
          )}
        </span>
        {isPublic && <Link2 className="size-3.5 shrink-0 text-muted-foreground" aria-label="Readable by public link" />}
        {c.visibility === "workspace" && <Users className="size-3.5 shrink-0 text-muted-foreground" aria-label="Shared with the workspace" />}
        <span className="sr-only">, {formatRelative(c.updated_at)}</span>
      </Link>
      {c.can_write && (
        <DropdownMenu>
          <DropdownMenuTrigger asChild>
            <Button
              variant="ghost"
              size="icon-sm"
              aria-label={`Actions for ${title}`}
              className="absolute top-1/2 right-1 size-7 -translate-y-1/2 text-muted-foreground opacity-100 focus-visible:opacity-100 data-[state=open]:opacity-100 sm:opacity-0 sm:group-hover/row:opacity-100"
            >
              <MoreHorizontal aria-hidden />
            </Button>
          </DropdownMenuTrigger>
          <DropdownMenuContent align="end">
            <DropdownMenuItem onSelect={onRename}>
              <Pencil aria-hidden /> Rename
            </DropdownMenuItem>
            <DropdownMenuItem onSelect={onPin}>
              {c.pinned ? <PinOff aria-hidden /> : <Pin aria-hidden />} {c.pinned ? "Unpin" : "Pin"}
            </DropdownMenuItem>
            <DropdownMenuItem onSelect={onArchive}>
              {c.archived ? <ArchiveRestore aria-hidden /> : <Archive aria-hidden />} {c.archived ? "Unarchive" : "Archive"}
            </DropdownMenuItem>
            <DropdownMenuSeparator />
            <DropdownMenuItem destructive onSelect={onDelete}>
              <Trash2 aria-hidden /> Delete
            </DropdownMenuItem>
          </DropdownMenuContent>
        </DropdownMenu>
      )}
    </li>
  );
}

function RenameDialog({
  conversation,
  onClose,
  onSave,
}: {
  conversation: ConversationView | null;
  onClose: () => void;
  onSave: (title: string) => Promise<void>;
}) {
  const [title, setTitle] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (conversation) {
      setTitle(conversation.title);
      setError(null);
    }
  }, [conversation]);
  return (
    <Dialog open={conversation !== null} onOpenChange={(o) => !o && onClose()}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Rename conversation</DialogTitle>
          <DialogDescription>A name that says what it's about; everyone who can see it sees the new name.</DialogDescription>
        </DialogHeader>
        <form
          className="grid gap-4"
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            const t = title.trim();
            if (!t) return setError("Enter a name");
            if (t.length > 200) return setError("Keep it to 200 characters or fewer");
            setBusy(true);
            try {
              await onSave(t);
              onClose();
            } catch (err) {
              toastError(err, "Couldn't rename");
            } finally {
              setBusy(false);
            }
          }}
        >
          <Field label="Name" error={error ?? undefined}>
            <Input value={title} onChange={(e) => setTitle(e.target.value)} autoFocus maxLength={200} />
          </Field>
          <DialogFooter>
            <Button variant="outline" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              Rename
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
