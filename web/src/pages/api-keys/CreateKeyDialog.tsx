import { zodResolver } from "@hookform/resolvers/zod";
import { Controller, useForm } from "react-hook-form";
import { useState } from "react";
import type { CreatedApiKeyResult } from "./types";
import { FormError } from "@/components/FormError";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { CopyField } from "@/components/ui/copy-field";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { applyServerError } from "@/lib/forms";
import { ROLE_DESCRIPTIONS, ROLE_LABELS, grantableRoles } from "@/lib/permissions";
import { useWorkspace } from "@/pages/workspaces/context";
import { useCreateApiKey } from "./api";
import { type CreateKeyForm, createKeySchema, expiresAt } from "./schemas";

const EXPIRY_OPTIONS = [
  { value: "30" as const, label: "30 days" },
  { value: "90" as const, label: "90 days" },
  { value: "365" as const, label: "1 year" },
  { value: "never" as const, label: "Never" },
];

/** Create a key; its secret is shown once, with a copy button and a warning. */
export function CreateKeyDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const ws = useWorkspace();
  const create = useCreateApiKey(ws.id);
  const [created, setCreated] = useState<CreatedApiKeyResult | null>(null);
  const form = useForm<CreateKeyForm>({
    resolver: zodResolver(createKeySchema),
    defaultValues: { name: "", role: "member", expiry: "90" },
  });
  const { errors, isSubmitting } = form.formState;

  const close = (o: boolean) => {
    onOpenChange(o);
    if (!o) {
      setTimeout(() => {
        setCreated(null);
        form.reset();
      }, 200);
    }
  };

  const onSubmit = form.handleSubmit(async ({ name, role, expiry }) => {
    try {
      const res = await create.mutateAsync({ name, role, expires_at: expiresAt(expiry) });
      setCreated(res);
    } catch (err) {
      applyServerError(err, form.setError, {
        labels: { name: "Name", role: "Role", expiry: "Expiry" },
        fieldMap: { expires_at: "expiry" },
        codeFields: { role_above_yours: "role" },
      });
    }
  });

  return (
    <Dialog open={open} onOpenChange={close}>
      <DialogContent
        onInteractOutside={(e) => {
          // Don't lose the only copy of the key to a stray click.
          if (created) e.preventDefault();
        }}
      >
        {created ? (
          <>
            <DialogHeader>
              <DialogTitle>Copy your new API key</DialogTitle>
              <DialogDescription>
                “{created.api_key.name}” acts as {ROLE_LABELS[created.api_key.role].toLowerCase()} in {ws.name}. Programs
                send it as <code className="rounded bg-muted px-1 py-0.5 font-mono text-xs">Authorization: Bearer …</code>.
              </DialogDescription>
            </DialogHeader>
            <CopyField value={created.key} label="API key" monospace multiline />
            <Alert variant="warning" title="You won't see this key again">
              Store it in a secret manager now. Nexus keeps only a fingerprint of it; if you lose it, revoke it and create
              a new one.
            </Alert>
            <DialogFooter>
              <Button onClick={() => close(false)}>I've stored the key</Button>
            </DialogFooter>
          </>
        ) : (
          <>
            <DialogHeader>
              <DialogTitle>Create an API key</DialogTitle>
              <DialogDescription>For programs that call the Nexus API on behalf of {ws.name}.</DialogDescription>
            </DialogHeader>
            <form onSubmit={onSubmit} className="grid gap-4" noValidate>
              <Field label="Name" error={errors.name?.message} description="e.g. “CI deploys” or “Billing sync”.">
                <Input autoComplete="off" autoFocus {...form.register("name")} />
              </Field>
              <div className="grid gap-4 sm:grid-cols-2">
                <Field label="Role" error={errors.role?.message}>
                  <Controller
                    control={form.control}
                    name="role"
                    render={({ field }) => (
                      <Select
                        value={field.value}
                        onValueChange={field.onChange}
                        options={grantableRoles(ws.role).map((r) => ({
                          value: r,
                          label: ROLE_LABELS[r],
                          description: ROLE_DESCRIPTIONS[r],
                        }))}
                      />
                    )}
                  />
                </Field>
                <Field label="Expires after" error={errors.expiry?.message}>
                  <Controller
                    control={form.control}
                    name="expiry"
                    render={({ field }) => (
                      <Select value={field.value} onValueChange={field.onChange} options={EXPIRY_OPTIONS} />
                    )}
                  />
                </Field>
              </div>
              <FormError message={errors.root?.server?.message} />
              <DialogFooter>
                <Button variant="outline" onClick={() => close(false)}>
                  Cancel
                </Button>
                <Button type="submit" loading={isSubmitting}>
                  Create key
                </Button>
              </DialogFooter>
            </form>
          </>
        )}
      </DialogContent>
    </Dialog>
  );
}
