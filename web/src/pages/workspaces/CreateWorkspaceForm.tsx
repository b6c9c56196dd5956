import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { useLocation } from "wouter";
import { FormError } from "@/components/FormError";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/toast";
import { applyServerError } from "@/lib/forms";
import { useCreateWorkspace } from "./api";
import { wsPath } from "./context";
import { type WorkspaceForm, workspaceFormSchema } from "./schemas";

/** Name a new workspace; on success, open it. */
export function CreateWorkspaceForm({ onDone, submitLabel = "Create workspace" }: { onDone?: () => void; submitLabel?: string }) {
  const [, navigate] = useLocation();
  const create = useCreateWorkspace();
  const form = useForm<WorkspaceForm>({ resolver: zodResolver(workspaceFormSchema), defaultValues: { name: "" } });
  const { errors } = form.formState;

  const onSubmit = form.handleSubmit(async ({ name }) => {
    try {
      const ws = await create.mutateAsync(name);
      toast({ title: "Workspace created", description: `${ws.name} is ready. Invite your team next.` });
      onDone?.();
      navigate(wsPath(ws.id, "members"));
    } catch (err) {
      applyServerError(err, form.setError, { labels: { name: "Name" } });
    }
  });

  return (
    <form onSubmit={onSubmit} className="grid gap-4" noValidate>
      <Field label="Workspace name" error={errors.name?.message} description="Usually your company or team name. You can change it later.">
        <Input autoFocus autoComplete="organization" placeholder="Acme Inc." {...form.register("name")} />
      </Field>
      <FormError message={errors.root?.server?.message} />
      <Button type="submit" loading={form.formState.isSubmitting} className="justify-self-end">
        {submitLabel}
      </Button>
    </form>
  );
}
