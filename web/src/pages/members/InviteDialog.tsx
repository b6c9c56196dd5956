import { zodResolver } from "@hookform/resolvers/zod";
import { Controller, useForm } from "react-hook-form";
import { useState } from "react";
import type { InvitationView } from "@/api/client";
import { FormError } from "@/components/FormError";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { CopyField } from "@/components/ui/copy-field";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { formatDateTime } from "@/lib/format";
import { applyServerError } from "@/lib/forms";
import { ROLE_DESCRIPTIONS, ROLE_LABELS, grantableRoles } from "@/lib/permissions";
import { useWorkspace } from "@/pages/workspaces/context";
import { useInvite } from "./api";
import { invitationLink } from "./invitations-api";
import { type InviteForm, inviteSchema } from "./schemas";

/** Invite by email; the result is a link to copy (shown once: the token is not stored in clear). */
export function InviteDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const ws = useWorkspace();
  const invite = useInvite(ws.id);
  const [created, setCreated] = useState<{ invitation: InvitationView; link: string } | null>(null);
  const form = useForm<InviteForm>({ resolver: zodResolver(inviteSchema), defaultValues: { email: "", role: "member" } });
  const { errors, isSubmitting } = form.formState;

  const close = (o: boolean) => {
    onOpenChange(o);
    if (!o) {
      // Forget the link once the dialog closes: it is shown once.
      setTimeout(() => {
        setCreated(null);
        form.reset();
      }, 200);
    }
  };

  const onSubmit = form.handleSubmit(async (values) => {
    try {
      const res = await invite.mutateAsync(values);
      setCreated({ invitation: res.invitation, link: invitationLink(res.token) });
    } catch (err) {
      applyServerError(err, form.setError, {
        labels: { email: "Email", role: "Role" },
        codeFields: { already_member: "email", role_above_yours: "role" },
      });
    }
  });

  return (
    <Dialog open={open} onOpenChange={close}>
      <DialogContent>
        {created ? (
          <>
            <DialogHeader>
              <DialogTitle>Invitation created</DialogTitle>
              <DialogDescription>
                Send this link to <span className="font-medium text-foreground">{created.invitation.email}</span>. They
                join as {ROLE_LABELS[created.invitation.role].toLowerCase()} after signing in with that address.
              </DialogDescription>
            </DialogHeader>
            <CopyField value={created.link} label="Invitation link" />
            <Alert variant="warning">
              This link is shown only now. It works once, until {formatDateTime(created.invitation.expires_at)}. If you
              lose it, revoke the invitation and invite again.
            </Alert>
            <DialogFooter>
              <Button
                variant="outline"
                onClick={() => {
                  setCreated(null);
                  form.reset();
                }}
              >
                Invite someone else
              </Button>
              <Button onClick={() => close(false)}>Done</Button>
            </DialogFooter>
          </>
        ) : (
          <>
            <DialogHeader>
              <DialogTitle>Invite to {ws.name}</DialogTitle>
              <DialogDescription>You'll get a link to send them. Invitations count toward your plan's seats.</DialogDescription>
            </DialogHeader>
            <form onSubmit={onSubmit} className="grid gap-4" noValidate>
              <Field label="Email address" error={errors.email?.message}>
                <Input type="email" autoComplete="off" placeholder="colleague@example.com" autoFocus {...form.register("email")} />
              </Field>
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
              <FormError message={errors.root?.server?.message} />
              <DialogFooter>
                <Button variant="outline" onClick={() => close(false)}>
                  Cancel
                </Button>
                <Button type="submit" loading={isSubmitting}>
                  Create invitation
                </Button>
              </DialogFooter>
            </form>
          </>
        )}
      </DialogContent>
    </Dialog>
  );
}
