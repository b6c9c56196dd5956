import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect } from "react";
import { useForm } from "react-hook-form";
import { FormError } from "@/components/FormError";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Field } from "@/components/ui/form-field";
import { Input, Textarea } from "@/components/ui/input";
import { toast } from "@/components/ui/toast";
import { applyServerError } from "@/lib/forms";
import { useWorkspace } from "@/pages/workspaces/context";
import { usePutSecret } from "./api";
import { type SecretForm, secretSchema } from "./schemas";

/** Add a secret, or replace one (`name` given). Values are write-only: never shown again. */
export function SecretDialog({
  open,
  onOpenChange,
  name,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  name?: string;
}) {
  const ws = useWorkspace();
  const put = usePutSecret(ws.id);
  const form = useForm<SecretForm>({ resolver: zodResolver(secretSchema), defaultValues: { name: name ?? "", value: "" } });
  const { errors, isSubmitting } = form.formState;
  const replacing = Boolean(name);

  useEffect(() => {
    if (open) form.reset({ name: name ?? "", value: "" });
  }, [open, name, form]);

  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await put.mutateAsync(values);
      toast({ title: replacing ? "Secret replaced" : "Secret saved", description: `${values.name} is stored encrypted.` });
      onOpenChange(false);
    } catch (err) {
      applyServerError(err, form.setError, { labels: { name: "Name", value: "Value" } });
    }
  });

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{replacing ? `Replace ${name}` : "Add a secret"}</DialogTitle>
          <DialogDescription>
            Secrets are encrypted at rest and never shown again, not even to admins. Modules and connectors read them by
            name.
          </DialogDescription>
        </DialogHeader>
        <form onSubmit={onSubmit} className="grid gap-4" noValidate>
          <Field label="Name" error={errors.name?.message} description="Letters, digits, _, - and . e.g. OPENAI_API_KEY">
            <Input
              autoComplete="off"
              spellCheck={false}
              readOnly={replacing}
              autoFocus={!replacing}
              className="font-mono"
              {...form.register("name")}
            />
          </Field>
          <Field label={replacing ? "New value" : "Value"} error={errors.value?.message}>
            <Textarea
              autoComplete="off"
              spellCheck={false}
              autoFocus={replacing}
              className="min-h-24 font-mono text-xs [-webkit-text-security:disc]"
              {...form.register("value")}
            />
          </Field>
          <FormError message={errors.root?.server?.message} />
          <DialogFooter>
            <Button variant="outline" onClick={() => onOpenChange(false)}>
              Cancel
            </Button>
            <Button type="submit" loading={isSubmitting}>
              {replacing ? "Replace secret" : "Save secret"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
