import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect } from "react";
import { useForm } from "react-hook-form";
import { FormError } from "@/components/FormError";
import { RoleBadge } from "@/components/RoleBadge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { toast } from "@/components/ui/toast";
import { formatDate } from "@/lib/format";
import { applyServerError } from "@/lib/forms";
import { useRenameWorkspace, useWorkspaceView } from "@/pages/workspaces/api";
import { useWorkspace } from "@/pages/workspaces/context";
import { type WorkspaceForm, workspaceFormSchema } from "@/pages/workspaces/schemas";

export function GeneralSection() {
  const ws = useWorkspace();
  const view = useWorkspaceView(ws.id);
  const rename = useRenameWorkspace(ws.id);
  const canRename = ws.can("rename_workspace");
  const form = useForm<WorkspaceForm>({ resolver: zodResolver(workspaceFormSchema), defaultValues: { name: ws.name } });
  const { errors, isSubmitting, isDirty } = form.formState;

  useEffect(() => {
    if (!isDirty) form.reset({ name: ws.name });
  }, [ws.name, isDirty, form]);

  const onSubmit = form.handleSubmit(async ({ name }) => {
    try {
      const updated = await rename.mutateAsync(name);
      form.reset({ name: updated.name });
      toast({ title: "Workspace renamed", description: `It's now called ${updated.name}.` });
    } catch (err) {
      applyServerError(err, form.setError, { labels: { name: "Name" } });
    }
  });

  return (
    <div className="grid gap-6">
      <Card>
        <form onSubmit={onSubmit} noValidate>
          <CardHeader>
            <CardTitle>Workspace name</CardTitle>
            <CardDescription>
              {canRename ? "Shown to everyone in the workspace." : "Only admins and owners can rename the workspace."}
            </CardDescription>
          </CardHeader>
          <CardContent className="grid max-w-md gap-4">
            <Field label="Name" error={errors.name?.message}>
              <Input readOnly={!canRename} {...form.register("name")} />
            </Field>
            <FormError message={errors.root?.server?.message} />
          </CardContent>
          {canRename && (
            <CardFooter>
              <Button type="submit" loading={isSubmitting} disabled={!isDirty}>
                Save
              </Button>
            </CardFooter>
          )}
        </form>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>Details</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="grid gap-4 text-sm sm:grid-cols-3">
            <div className="grid gap-1">
              <dt className="text-muted-foreground">Slug</dt>
              <dd className="font-mono text-xs">{ws.slug}</dd>
            </div>
            <div className="grid gap-1">
              <dt className="text-muted-foreground">Your role</dt>
              <dd>
                <RoleBadge role={ws.role} />
              </dd>
            </div>
            <div className="grid gap-1">
              <dt className="text-muted-foreground">Created</dt>
              <dd>{view.data ? formatDate(view.data.created_at) : <Skeleton className="h-4 w-24" />}</dd>
            </div>
            <div className="grid gap-1 sm:col-span-3">
              <dt className="text-muted-foreground">Workspace id (for the API)</dt>
              <dd className="font-mono text-xs break-all">{ws.id}</dd>
            </div>
          </dl>
        </CardContent>
      </Card>
    </div>
  );
}
