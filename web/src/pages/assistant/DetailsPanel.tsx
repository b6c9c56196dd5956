import { Download, Link2, Lock, Users, X } from "lucide-react";
import { type ReactNode, useEffect, useRef, useState } from "react";
import type { ConversationView, ModelView } from "@/api/client";
import { useSession } from "@/api/session";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import { CopyField } from "@/components/ui/copy-field";
import { Skeleton } from "@/components/ui/skeleton";
import { Select } from "@/components/ui/select";
import { Switch } from "@/components/ui/switch";
import { Textarea } from "@/components/ui/input";
import { toast, toastError } from "@/components/ui/toast";
import { formatDateTime, formatNumber, formatRelative } from "@/lib/format";
import { useWorkspace } from "@/pages/workspaces/context";
import { exportHref, useUpdateConversation } from "./api";
import { sharedUrl, useShareLink, useShareLinkChanges } from "./links";
import { isRunning, useLiveTurn } from "./turns";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid gap-1">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

/**
 * The right panel: what a conversation is set to and what it has used. No cost: the API
 * reports tokens, not prices, and a made-up price would mislead.
 */
export function DetailsPanel({
  conversation,
  models,
  onClose,
}: {
  conversation: ConversationView;
  models: ModelView[] | undefined;
  onClose: () => void;
}) {
  const ws = useWorkspace();
  const update = useUpdateConversation(ws.id);
  const c = conversation;
  const [prompt, setPrompt] = useState(c.system_prompt);
  useEffect(() => setPrompt(c.system_prompt), [c.id, c.system_prompt]);
  const shared = c.visibility === "workspace";
  // Only its creator decides who sees a conversation (an admin who made someone's shared
  // conversation private would lose it too).
  const mine = useSession().user.id === c.created_by;
  // The server shares no conversation while an answer is written in it (that answer's
  // tool results are kept whole): the switch waits for the answer here.
  const answering = isRunning(useLiveTurn(ws.id, c.id));
  const modelOptions = (models ?? []).map((m) => ({ value: m.id, label: m.id, description: m.provider_name }));
  if (!modelOptions.some((o) => o.value === c.model)) modelOptions.unshift({ value: c.model, label: c.model, description: "no longer offered" });

  const save = async (body: Parameters<typeof update.mutateAsync>[0], done: string) => {
    try {
      await update.mutateAsync(body);
      toast({ title: done });
    } catch (err) {
      toastError(err);
    }
  };

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div className="flex h-14 shrink-0 items-center justify-between border-b px-4">
        <h2 className="text-sm font-semibold">Details</h2>
        <Button variant="ghost" size="icon-sm" onClick={onClose} aria-label="Hide details">
          <X aria-hidden />
        </Button>
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto p-4">
        <dl className="grid gap-4">
          <Row label="Model">
            {c.can_write ? (
              <Select
                aria-label="Conversation model"
                size="sm"
                value={c.model}
                options={modelOptions}
                disabled={update.isPending}
                onValueChange={(model) => save({ id: c.id, model }, `Now answering with ${model}`)}
              />
            ) : (
              <span className="font-mono text-xs">{c.model}</span>
            )}
          </Row>
          <Row label="Visibility">
            <div className="flex items-start gap-3">
              <div className="flex min-w-0 flex-1 items-start gap-2">
                {shared ? <Users className="mt-0.5 size-4 shrink-0 text-muted-foreground" aria-hidden /> : <Lock className="mt-0.5 size-4 shrink-0 text-muted-foreground" aria-hidden />}
                <span>
                  <span id="visibility-label" className="font-medium">
                    {shared ? "Shared with the workspace" : "Private"}
                  </span>
                  <span className="block text-xs text-muted-foreground">
                    {shared
                      ? `Everyone in the workspace can read it; its creator and admins can write.${mine ? "" : " Only its creator can make it private."}`
                      : answering
                        ? "Only you can see it. You can share it once the answer ends."
                        : "Only you can see it."}
                  </span>
                </span>
              </div>
              {c.can_write && mine && (
                <Switch
                  aria-label="Share with the workspace"
                  checked={shared}
                  disabled={update.isPending || (!shared && answering)}
                  onCheckedChange={(on) =>
                    save({ id: c.id, visibility: on ? "workspace" : "private" }, on ? "Shared with the workspace" : "Made private")
                  }
                />
              )}
            </div>
          </Row>
          <Row label="Created">{formatDateTime(c.created_at)}</Row>
          <Row label="Last activity">{formatRelative(c.updated_at)}</Row>
          <div className="grid grid-cols-2 gap-4">
            <Row label="Messages">
              <span className="tabular-nums" data-detail="messages">
                {formatNumber(c.message_count)}
              </span>
            </Row>
            <Row label="Tokens used">
              <span className="tabular-nums" data-detail="tokens">
                {formatNumber(c.tokens_used)}
              </span>
            </Row>
          </div>
        </dl>
        <form
          className="mt-6 grid gap-2 border-t pt-4"
          onSubmit={(e) => {
            e.preventDefault();
            void save({ id: c.id, system_prompt: prompt }, "Instructions saved");
          }}
        >
          <label htmlFor="system-prompt" className="text-xs font-medium text-muted-foreground">
            Instructions (system prompt)
          </label>
          {c.can_write ? (
            <>
              <Textarea
                id="system-prompt"
                value={prompt}
                onChange={(e) => setPrompt(e.target.value)}
                maxLength={20_000}
                placeholder="e.g. Answer briefly, in British English."
                className="min-h-24 text-xs"
              />
              {prompt !== c.system_prompt && (
                <div className="flex justify-end gap-2">
                  <Button size="sm" variant="ghost" onClick={() => setPrompt(c.system_prompt)}>
                    Reset
                  </Button>
                  <Button size="sm" type="submit" loading={update.isPending}>
                    Save
                  </Button>
                </div>
              )}
            </>
          ) : (
            <p id="system-prompt" className="text-xs whitespace-pre-wrap text-muted-foreground">
              {c.system_prompt || "None."}
            </p>
          )}
        </form>
        {c.can_write && <PublicLink conversation={c} answering={answering} />}
        <section className="mt-6 grid gap-2 border-t pt-4" aria-labelledby="export-heading">
          <h3 id="export-heading" className="text-xs font-medium text-muted-foreground">
            Export
          </h3>
          <p className="text-xs text-muted-foreground">Markdown holds the branch shown, to read or share; JSON holds every message of every branch.</p>
          <div className="flex gap-2">
            <Button asChild size="sm" variant="outline">
              <a href={exportHref(ws.id, c.id, "markdown")} download>
                <Download aria-hidden /> Markdown
              </a>
            </Button>
            <Button asChild size="sm" variant="outline">
              <a href={exportHref(ws.id, c.id, "json")} download>
                <Download aria-hidden /> JSON
              </a>
            </Button>
          </div>
        </section>
      </div>
    </div>
  );
}

/**
 * The conversation's public link: anyone with it reads the messages shown when it was made
 * (or last updated), without signing in.
 */
function PublicLink({ conversation: c, answering }: { conversation: ConversationView; answering: boolean }) {
  const ws = useWorkspace();
  const link = useShareLink(ws.id, c.id, true);
  const { share, unshare } = useShareLinkChanges(ws.id, c.id);
  const [confirming, setConfirming] = useState(false);
  /** Set when the link is deleted: "Create public link" takes the focus its dialog leaves. */
  const focusCreate = useRef(false);
  const current = link.data?.link;
  const make = async () => {
    try {
      await share.mutateAsync();
      toast({ title: current ? "Public link updated" : "Public link created" });
    } catch (err) {
      toastError(err, "Couldn't share the conversation");
    }
  };
  return (
    <section className="mt-6 grid gap-2 border-t pt-4" aria-labelledby="public-link-heading" data-public-link>
      <h3 id="public-link-heading" className="flex items-center gap-1.5 text-xs font-medium text-muted-foreground">
        <Link2 className="size-3.5" aria-hidden /> Public link
      </h3>
      {link.isPending ? (
        <Skeleton className="h-9 w-full" />
      ) : link.isError ? (
        <div className="flex items-center gap-2 text-xs text-muted-foreground">
          <span className="min-w-0 flex-1">Couldn't load the public link.</span>
          <Button size="sm" variant="outline" onClick={() => link.refetch()}>
            Try again
          </Button>
        </div>
      ) : !link.data.allowed ? (
        <p className="text-xs text-muted-foreground">
          This workspace's admins have switched public links off{ws.can("manage_ai") ? " (Settings → AI)" : ""}.
        </p>
      ) : current ? (
        <>
          <CopyField value={sharedUrl(current.token)} label="Public link" monospace />
          <p className="text-xs text-muted-foreground">
            Anyone with the link can read {current.message_count === 1 ? "the 1 message" : `the ${formatNumber(current.message_count)} messages`} shared{" "}
            {formatRelative(current.updated_at)}, without signing in. Update it to include later ones.
          </p>
          <div className="flex flex-wrap gap-2">
            <Button size="sm" variant="outline" onClick={make} loading={share.isPending} disabled={answering}>
              Update link
            </Button>
            <Button size="sm" variant="ghost" className="text-destructive" onClick={() => setConfirming(true)}>
              Delete link
            </Button>
          </div>
          <ConfirmDialog
            open={confirming}
            onOpenChange={setConfirming}
            destructive
            title="Delete the public link?"
            description="Whoever has the link can no longer read the conversation. Sharing it again makes a new link."
            confirmLabel="Delete link"
            onConfirm={async () => {
              try {
                await unshare.mutateAsync();
                focusCreate.current = true;
                toast({ title: "Public link deleted" });
              } catch (err) {
                toastError(err, "Couldn't delete the link");
                throw err;
              }
            }}
          />
        </>
      ) : (
        <>
          <p className="text-xs text-muted-foreground">
            Let anyone with a link read this conversation as it is now, without signing in. Later messages stay out until you update it.
          </p>
          <div>
            <Button
              ref={(el) => {
                if (!el || !focusCreate.current) return;
                focusCreate.current = false;
                // After the dialog has given the focus back (to a button now gone).
                requestAnimationFrame(() => el.focus());
              }}
              size="sm"
              variant="outline"
              onClick={make}
              loading={share.isPending}
              disabled={answering || c.message_count === 0}
            >
              Create public link
            </Button>
          </div>
          {answering && <p className="text-xs text-muted-foreground">You can make a link once the answer ends.</p>}
        </>
      )}
    </section>
  );
}
