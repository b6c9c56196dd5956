import * as DialogPrimitive from "@radix-ui/react-dialog";
import { MessageSquarePlus, PanelLeft, PanelRight, PowerOff, Settings } from "lucide-react";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useLocation, useParams } from "wouter";
import type { ConversationView } from "@/api/client";
import { isApiError } from "@/api/errors";
import { ErrorState } from "@/components/ErrorState";
import { useDocumentTitle } from "@/components/PageHeader";
import { Button, buttonClasses } from "@/components/ui/button";
import { Dialog, SheetContent } from "@/components/ui/dialog";
import { toast, toastError } from "@/components/ui/toast";
import { Tooltip } from "@/components/ui/tooltip";
import { moveDraft } from "@/lib/drafts";
import { readLocal, writeLocal } from "@/lib/storage";
import { useModels } from "@/pages/ai/api";
import { useWorkspace, wsPath } from "@/pages/workspaces/context";
import { useConversation, useConversations, useEnableAssistant } from "./api";
import { ChatView, chatDraftKey } from "./ChatView";
import type { ComposerHandle } from "./Composer";
import { ConversationList, titleOf } from "./ConversationList";
import { DetailsPanel } from "./DetailsPanel";
import { preloadMarkdown } from "./MessageItem";
import { useShortcuts } from "./shortcuts";

/** A panel's open/closed choice, remembered across visits. */
function useRemembered(key: string, initial: boolean): [boolean, (v: boolean) => void] {
  const [value, setValue] = useState(() => {
    const saved = readLocal(key);
    return saved === null ? initial : saved === "1";
  });
  const set = useCallback(
    (v: boolean) => {
      setValue(v);
      writeLocal(key, v ? "1" : "0");
    },
    [key],
  );
  return [value, set];
}

function useMediaQuery(query: string): boolean {
  const get = () => typeof window !== "undefined" && window.matchMedia?.(query).matches === true;
  const [matches, setMatches] = useState(get);
  useEffect(() => {
    const mq = window.matchMedia?.(query);
    if (!mq) return;
    const on = () => setMatches(mq.matches);
    on();
    mq.addEventListener("change", on);
    return () => mq.removeEventListener("change", on);
  }, [query]);
  return matches;
}

/**
 * The assistant: conversations on the left, the chat in the middle, the conversation's
 * details on the right. Both side panels fold away (remembered); on small screens they
 * open as sheets over the chat.
 */
export function AssistantPage() {
  const ws = useWorkspace();
  const params = useParams<{ conversationId?: string }>();
  const conversationId = params.conversationId ?? null;
  const [location, navigate] = useLocation();
  const here = useRef(location);
  here.current = location;
  const wide = useMediaQuery("(min-width: 768px)");
  const veryWide = useMediaQuery("(min-width: 1200px)");
  const [listOpen, setListOpen] = useRemembered("nexus-assistant-list", true);
  const [detailsOpen, setDetailsOpen] = useRemembered("nexus-assistant-details", true);
  const [listSheet, setListSheet] = useState(false);
  const [detailsSheet, setDetailsSheet] = useState(false);
  const composer = useRef<ComposerHandle>(null);
  const detailsToggle = useRef<HTMLButtonElement>(null);
  const search = useRef<HTMLInputElement>(null);
  // A new chat becomes a conversation on its first message: the same view carries on (the
  // answer keeps streaming, the cursor stays in the composer) under its new URL.
  const bornHere = useRef<string | null>(null);
  const viewKey = conversationId === null || conversationId === bornHere.current ? "new" : conversationId;
  // Once the person leaves it, the conversation born here is one like any other: opened
  // again, it gets a view of its own (its draft, a search result's jump).
  useEffect(() => {
    if (conversationId !== bornHere.current) bornHere.current = null;
  }, [conversationId]);

  useEffect(preloadMarkdown, []);

  // The first page of the list tells whether the module is on (the list shares this query).
  const probe = useConversations(ws.id, "", false);
  const models = useModels(ws.id);
  const conversation = useConversation(ws.id, conversationId);
  const c = conversation.data;
  const title = conversationId ? (c ? titleOf(c) : conversation.isError ? "Conversation not found" : "") : "New chat";
  useDocumentTitle(title ? `${title} · Assistant` : "Assistant");

  const newChat = useCallback(() => {
    setListSheet(false);
    navigate(wsPath(ws.id, "assistant"));
    requestAnimationFrame(() => composer.current?.focus());
  }, [navigate, ws.id]);

  const onCreated = useCallback(
    (created: ConversationView) => {
      // Only follow if the person is still on the new chat.
      if (here.current === wsPath(ws.id, "assistant")) {
        bornHere.current = created.id;
        // Words typed while it was being made belong to it, not to the next new chat.
        moveDraft(chatDraftKey(ws.id, null), chatDraftKey(ws.id, created.id));
        navigate(wsPath(ws.id, `assistant/${created.id}`), { replace: true });
      }
    },
    [navigate, ws.id],
  );

  useShortcuts({
    "new-chat": () => ws.can("use_assistant") && newChat(),
    search: () => {
      if (!wide) setListSheet(true);
      else if (!listOpen) setListOpen(true);
      requestAnimationFrame(() => search.current?.focus());
    },
    "focus-composer": () => composer.current?.focus(),
  });

  // Opening a conversation from the list puts the cursor in its composer.
  useEffect(() => {
    const active = document.activeElement;
    if (active && active.closest("[data-conversation-id]")) composer.current?.focus();
  }, [conversationId]);

  if (probe.isError) {
    const err = probe.error;
    if (isApiError(err) && err.code === "module_disabled") return <ModuleOff />;
    return (
      <div className="p-6">
        <h1 className="sr-only">Assistant</h1>
        <ErrorState error={err} onRetry={() => probe.refetch()} />
      </div>
    );
  }

  const list = (
    <ConversationList
      ref={search}
      activeId={conversationId}
      onNewChat={newChat}
      onNavigate={() => setListSheet(false)}
      onDeletedActive={() => navigate(wsPath(ws.id, "assistant"), { replace: true })}
    />
  );
  const details = c && (
    <DetailsPanel
      conversation={c}
      models={models.data}
      onClose={() => {
        if (!veryWide) {
          setDetailsSheet(false);
          return;
        }
        setDetailsOpen(false);
        // The panel's close button is gone with it: the header's toggle takes the focus.
        requestAnimationFrame(() => detailsToggle.current?.focus());
      }}
    />
  );

  return (
    <div className="flex h-full min-h-0 w-full" data-own-focus>
      {wide && listOpen && (
        <aside aria-label="Conversations" className="flex w-64 shrink-0 flex-col border-r bg-sidebar/60">
          {list}
        </aside>
      )}
      <section className="flex min-w-0 flex-1 flex-col" aria-labelledby="chat-title">
        <header className="flex h-14 shrink-0 items-center gap-1 border-b px-2 sm:px-3">
          <Tooltip content={wide && listOpen ? "Hide conversations" : "Show conversations"}>
            <Button
              variant="ghost"
              size="icon-sm"
              aria-label={wide && listOpen ? "Hide conversations" : "Show conversations"}
              aria-expanded={wide ? listOpen : listSheet}
              onClick={() => (wide ? setListOpen(!listOpen) : setListSheet(true))}
            >
              <PanelLeft aria-hidden />
            </Button>
          </Tooltip>
          <h1 id="chat-title" tabIndex={-1} className="min-w-0 flex-1 truncate px-1 text-sm font-semibold outline-none" data-chat-title>
            {title || "\u00a0"}
          </h1>
          {ws.can("use_assistant") && conversationId && !(wide && listOpen) && (
            <Tooltip content="New chat">
              <Button variant="ghost" size="icon-sm" aria-label="New chat" onClick={newChat}>
                <MessageSquarePlus aria-hidden />
              </Button>
            </Tooltip>
          )}
          {c && (
            <Tooltip content={veryWide && detailsOpen ? "Hide details" : "Show details"}>
              <Button
                ref={detailsToggle}
                variant="ghost"
                size="icon-sm"
                aria-label={veryWide && detailsOpen ? "Hide details" : "Show details"}
                aria-expanded={veryWide ? detailsOpen : detailsSheet}
                onClick={() => (veryWide ? setDetailsOpen(!detailsOpen) : setDetailsSheet(true))}
              >
                <PanelRight aria-hidden />
              </Button>
            </Tooltip>
          )}
        </header>
        <ChatView
          key={viewKey}
          conversationId={conversationId}
          conversation={c}
          models={models.data}
          composerRef={composer}
          onCreated={onCreated}
          onNewChat={newChat}
        />
      </section>
      {veryWide && detailsOpen && details && (
        <aside aria-label="Conversation details" className="w-64 shrink-0 border-l bg-sidebar/60">
          {details}
        </aside>
      )}

      <Dialog open={!wide && listSheet} onOpenChange={setListSheet}>
        <SheetContent aria-label="Conversations">
          <DialogPrimitive.Title className="sr-only">Conversations</DialogPrimitive.Title>
          <DialogPrimitive.Description className="sr-only">Search and open conversations</DialogPrimitive.Description>
          {list}
        </SheetContent>
      </Dialog>
      <Dialog open={!veryWide && detailsSheet && Boolean(details)} onOpenChange={setDetailsSheet}>
        <SheetContent aria-label="Conversation details" className="right-0 left-auto border-r-0 border-l data-[state=open]:animate-fade-in">
          <DialogPrimitive.Title className="sr-only">Conversation details</DialogPrimitive.Title>
          <DialogPrimitive.Description className="sr-only">Model, visibility and usage of this conversation</DialogPrimitive.Description>
          {details}
        </SheetContent>
      </Dialog>
    </div>
  );
}

/** The module is switched off: admins can switch it on here; others learn whom to ask. */
function ModuleOff() {
  const ws = useWorkspace();
  const enable = useEnableAssistant(ws.id);
  const admin = ws.can("manage_modules");
  useDocumentTitle("Assistant");
  return (
    <div className="flex flex-1 items-center justify-center p-6">
      <div className="grid max-w-md justify-items-center gap-4 rounded-xl border bg-card px-6 py-12 text-center shadow-xs">
        <div className="flex size-12 items-center justify-center rounded-full bg-muted text-muted-foreground">
          <PowerOff className="size-5" aria-hidden />
        </div>
        <div className="grid gap-1.5">
          <h1 tabIndex={-1} className="text-lg font-semibold tracking-tight outline-none">
            The assistant is switched off
          </h1>
          <p className="text-sm text-muted-foreground">
            {admin
              ? `Switch it on to chat with AI models in ${ws.name}. Conversations stay in the workspace, and AI use counts toward the plan's monthly tokens.`
              : `An admin of ${ws.name} can switch it on in Settings → Modules. Ask one of them.`}
          </p>
        </div>
        {admin && (
          <div className="flex flex-wrap justify-center gap-2">
            <Button
              loading={enable.isPending}
              onClick={async () => {
                try {
                  await enable.mutateAsync();
                  toast({ title: "AI assistant switched on" });
                } catch (err) {
                  toastError(err, "Couldn't switch the assistant on");
                }
              }}
            >
              Switch on the assistant
            </Button>
            <Link href={wsPath(ws.id, "settings/modules")} className={buttonClasses("outline")}>
              <Settings aria-hidden /> Module settings
            </Link>
          </div>
        )}
      </div>
    </div>
  );
}
