import { Pencil, Plus, Trash2, Users } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { useSession } from "@/api/session";
import { isApiError } from "@/api/errors";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Field } from "@/components/ui/form-field";
import { Input, Textarea } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { toast, toastError } from "@/components/ui/toast";
import { MAX_PROMPT_TEXT, MAX_PROMPT_TITLE, type Prompt, useDeletePrompt, usePrompts, useSavePrompt } from "./prompts";

/**
 * The library of saved prompts: use one (its text goes into the message box where the caret
 * was, what was typed kept), save new ones,
 * change or delete those the person may. `editing` is the prompt being changed, `"new"` for
 * a new one, null for the list.
 */
export function PromptsDialog({
  workspaceId,
  open,
  onOpenChange,
  onUse,
}: {
  workspaceId: string;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onUse: (text: string) => void;
}) {
  const prompts = usePrompts(workspaceId, open);
  const [editing, setEditing] = useState<Prompt | "new" | null>(null);
  const [deleting, setDeleting] = useState<Prompt | null>(null);
  const remove = useDeletePrompt(workspaceId);
  const newButton = useRef<HTMLButtonElement>(null);
  // A prompt chosen with Use goes into the message box once the dialog has closed, so that
  // the focus lands there rather than back on the button that opened the dialog.
  const chosen = useRef<string | null>(null);
  // Each opening starts at the list.
  useEffect(() => {
    if (open) setEditing(null);
  }, [open]);
  /** Back to the list, the focus on "New prompt" (the form's buttons are gone). */
  const backToList = () => {
    setEditing(null);
    requestAnimationFrame(() => newButton.current?.focus());
  };

  return (
    <>
      <Dialog open={open} onOpenChange={onOpenChange}>
        <DialogContent
          className="max-w-xl"
          onCloseAutoFocus={(e) => {
            if (chosen.current === null) return;
            e.preventDefault();
            onUse(chosen.current);
            chosen.current = null;
          }}
        >
          <DialogHeader>
            <DialogTitle>{editing === "new" ? "New prompt" : editing ? "Edit prompt" : "Saved prompts"}</DialogTitle>
            <DialogDescription>
              {editing ? "A text to send again. Shared prompts are offered to everyone in the workspace." : "Texts to send again: type / in the message box to pick one."}
            </DialogDescription>
          </DialogHeader>
          {editing ? (
            <PromptForm workspaceId={workspaceId} prompt={editing === "new" ? null : editing} onDone={backToList} />
          ) : prompts.isPending ? (
            <div className="grid gap-2">
              <Skeleton className="h-14" />
              <Skeleton className="h-14" />
            </div>
          ) : prompts.isError ? (
            <p role="alert" className="text-sm text-destructive">
              The prompts could not be loaded. Close this and try again.
            </p>
          ) : (
            <>
              {prompts.data.length === 0 ? (
                <p className="text-sm text-muted-foreground">No saved prompts yet. Save the questions and instructions you send often.</p>
              ) : (
                <ul className="grid max-h-[50vh] gap-2 overflow-y-auto" aria-label="Saved prompts">
                  {prompts.data.map((p) => (
                    <li key={p.id} className="flex items-start gap-3 rounded-lg border px-3 py-2.5" data-prompt-id={p.id}>
                      <div className="grid min-w-0 flex-1 gap-0.5">
                        <p className="flex items-center gap-2 text-sm font-medium">
                          <span className="truncate">{p.title}</span>
                          {p.visibility === "workspace" && (
                            <Badge variant="outline" title="Offered to everyone in the workspace">
                              <Users aria-hidden /> Shared
                            </Badge>
                          )}
                        </p>
                        <p className="line-clamp-2 text-xs whitespace-pre-wrap text-muted-foreground">{p.content}</p>
                      </div>
                      <div className="flex shrink-0 items-center gap-0.5">
                        <Button
                          size="sm"
                          variant="outline"
                          aria-label={`Use ${p.title}`}
                          onClick={() => {
                            chosen.current = p.content;
                            onOpenChange(false);
                          }}
                        >
                          Use
                        </Button>
                        {p.can_write && (
                          <>
                            <Button size="icon-sm" variant="ghost" aria-label={`Edit ${p.title}`} onClick={() => setEditing(p)}>
                              <Pencil aria-hidden />
                            </Button>
                            <Button size="icon-sm" variant="ghost" aria-label={`Delete ${p.title}`} onClick={() => setDeleting(p)}>
                              <Trash2 aria-hidden />
                            </Button>
                          </>
                        )}
                      </div>
                    </li>
                  ))}
                </ul>
              )}
              <DialogFooter>
                <Button ref={newButton} onClick={() => setEditing("new")}>
                  <Plus aria-hidden /> New prompt
                </Button>
              </DialogFooter>
            </>
          )}
        </DialogContent>
      </Dialog>
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title="Delete this prompt?"
        description={
          deleting?.visibility === "workspace"
            ? `“${deleting.title}” goes for everyone in the workspace.`
            : `“${deleting?.title ?? ""}” goes for good.`
        }
        confirmLabel="Delete"
        destructive
        onConfirm={async () => {
          if (!deleting) return;
          try {
            await remove.mutateAsync(deleting.id);
            toast({ title: "Prompt deleted" });
          } catch (err) {
            toastError(err, "Couldn't delete the prompt");
            throw err;
          }
        }}
      />
    </>
  );
}

/** A new prompt's or a changed one's title, text and who sees it. */
function PromptForm({ workspaceId, prompt, onDone }: { workspaceId: string; prompt: Prompt | null; onDone: () => void }) {
  const me = useSession().user.id;
  const save = useSavePrompt(workspaceId);
  const [title, setTitle] = useState(prompt?.title ?? "");
  const [content, setContent] = useState(prompt?.content ?? "");
  const [shared, setShared] = useState(prompt?.visibility === "workspace");
  const [errors, setErrors] = useState<{ title?: string; content?: string }>({});
  // Only its creator decides who sees a prompt (as with conversations).
  const mayShare = prompt === null || prompt.created_by === me;

  const submit = async () => {
    const found: typeof errors = {};
    if (!title.trim()) found.title = "Enter a title";
    else if (title.trim().length > MAX_PROMPT_TITLE) found.title = `Keep it to ${MAX_PROMPT_TITLE} characters or fewer`;
    if (!content.trim()) found.content = "Enter the text to send";
    setErrors(found);
    if (found.title || found.content) return;
    try {
      await save.mutateAsync({
        id: prompt?.id,
        title: title.trim(),
        content,
        ...(mayShare ? { visibility: shared ? "workspace" : "private" } : {}),
      });
      toast({ title: prompt ? "Prompt saved" : "Prompt added" });
      onDone();
    } catch (err) {
      if (isApiError(err) && (err.fields.title || err.fields.content)) setErrors({ title: err.fields.title, content: err.fields.content });
      else toastError(err, "Couldn't save the prompt");
    }
  };

  return (
    <form
      className="grid gap-4"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <Field label="Title" error={errors.title} description="What the list shows; type / and its first letters to find it.">
        <Input value={title} onChange={(e) => setTitle(e.target.value)} autoFocus maxLength={MAX_PROMPT_TITLE} />
      </Field>
      <Field label="Text" error={errors.content}>
        <Textarea value={content} onChange={(e) => setContent(e.target.value)} rows={6} maxLength={MAX_PROMPT_TEXT} />
      </Field>
      {mayShare && (
        <Field label="Share with the workspace" description="Everyone in the workspace can use it; admins can change it." inline>
          <Switch checked={shared} onCheckedChange={setShared} />
        </Field>
      )}
      <DialogFooter>
        <Button type="button" variant="outline" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" loading={save.isPending}>
          {prompt ? "Save" : "Add prompt"}
        </Button>
      </DialogFooter>
    </form>
  );
}
