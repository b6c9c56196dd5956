import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { FormError } from "@/components/FormError";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/toast";
import { applyServerError } from "@/lib/forms";
import { useChangePassword } from "./api";
import { type ChangePasswordForm as Values, changePasswordSchema } from "./schemas";

export function ChangePasswordForm() {
  const change = useChangePassword();
  const form = useForm<Values>({
    resolver: zodResolver(changePasswordSchema),
    defaultValues: { current_password: "", new_password: "", confirm: "" },
  });
  const { errors, isSubmitting } = form.formState;

  const onSubmit = form.handleSubmit(async ({ current_password, new_password }) => {
    try {
      await change.mutateAsync({ current_password, new_password });
      form.reset();
      toast({ title: "Password changed", description: "You stay signed in here; your other sessions were signed out." });
    } catch (err) {
      applyServerError(err, form.setError, {
        labels: { current_password: "Current password", new_password: "New password" },
      });
    }
  });

  return (
    <form onSubmit={onSubmit} className="grid max-w-md gap-4" noValidate aria-label="Change password">
      <Field label="Current password" error={errors.current_password?.message}>
        <Input type="password" autoComplete="current-password" {...form.register("current_password")} />
      </Field>
      <Field label="New password" error={errors.new_password?.message} description="At least 8 characters.">
        <Input type="password" autoComplete="new-password" {...form.register("new_password")} />
      </Field>
      <Field label="Repeat new password" error={errors.confirm?.message}>
        <Input type="password" autoComplete="new-password" {...form.register("confirm")} />
      </Field>
      <FormError message={errors.root?.server?.message} />
      <div>
        <Button type="submit" loading={isSubmitting}>
          Change password
        </Button>
      </div>
    </form>
  );
}
