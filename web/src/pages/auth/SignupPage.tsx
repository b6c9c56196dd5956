import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { Link, Redirect, useLocation, useSearch } from "wouter";
import { useMe } from "@/api/session";
import { AuthLayout } from "@/components/layout/AuthLayout";
import { FormError } from "@/components/FormError";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { applyServerError } from "@/lib/forms";
import { safeNext } from "@/lib/redirect";
import { useSignup } from "./api";
import { type SignupForm, signupSchema } from "./schemas";

export function SignupPage() {
  const search = new URLSearchParams(useSearch());
  const next = safeNext(search.get("next"));
  const [, navigate] = useLocation();
  const me = useMe();
  const signup = useSignup();
  const form = useForm<SignupForm>({
    resolver: zodResolver(signupSchema),
    defaultValues: { name: "", email: "", password: "" },
  });
  const { errors, isSubmitting } = form.formState;

  if (me.data && !signup.isPending) return <Redirect to={next} replace />;

  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await signup.mutateAsync(values);
      navigate(next, { replace: true });
    } catch (err) {
      applyServerError(err, form.setError, {
        labels: { name: "Name", email: "Email", password: "Password" },
        codeFields: { email_taken: "email" },
      });
    }
  });

  const loginHref = next !== "/" ? `/login?next=${encodeURIComponent(next)}` : "/login";
  return (
    <AuthLayout
      title="Create your account"
      description={next.startsWith("/invite") ? "Use the email address your invitation was sent to." : "Start a workspace for your team in a minute."}
      footer={
        <>
          Already have an account?{" "}
          <Link href={loginHref} className="font-medium text-primary hover:underline">
            Sign in
          </Link>
        </>
      }
    >
      <form onSubmit={onSubmit} className="grid gap-4" noValidate>
        <Field label="Your name" error={errors.name?.message}>
          <Input autoComplete="name" autoFocus {...form.register("name")} />
        </Field>
        <Field label="Email" error={errors.email?.message}>
          <Input type="email" autoComplete="email" {...form.register("email")} />
        </Field>
        <Field label="Password" error={errors.password?.message} description="At least 8 characters.">
          <Input type="password" autoComplete="new-password" {...form.register("password")} />
        </Field>
        <FormError message={errors.root?.server?.message} />
        <Button type="submit" size="lg" loading={isSubmitting} className="w-full">
          Create account
        </Button>
      </form>
    </AuthLayout>
  );
}
