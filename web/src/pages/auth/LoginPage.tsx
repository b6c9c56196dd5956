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
import { useLogin } from "./api";
import { type LoginForm, loginSchema } from "./schemas";

export function LoginPage() {
  const search = new URLSearchParams(useSearch());
  const next = safeNext(search.get("next"));
  const [, navigate] = useLocation();
  const me = useMe();
  const login = useLogin();
  const form = useForm<LoginForm>({ resolver: zodResolver(loginSchema), defaultValues: { email: "", password: "" } });
  const { errors, isSubmitting } = form.formState;

  if (me.data && !login.isPending) return <Redirect to={next} replace />;

  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await login.mutateAsync(values);
      navigate(next, { replace: true });
    } catch (err) {
      applyServerError(err, form.setError, { labels: { email: "Email", password: "Password" } });
    }
  });

  const signupHref = next !== "/" ? `/signup?next=${encodeURIComponent(next)}` : "/signup";
  return (
    <AuthLayout
      title="Sign in to Nexus"
      description={next.startsWith("/invite") ? "Sign in to accept your invitation." : "Welcome back."}
      footer={
        <>
          New to Nexus?{" "}
          <Link href={signupHref} className="font-medium text-primary hover:underline">
            Create an account
          </Link>
        </>
      }
    >
      <form onSubmit={onSubmit} className="grid gap-4" noValidate>
        <Field label="Email" error={errors.email?.message}>
          <Input type="email" autoComplete="email" autoFocus {...form.register("email")} />
        </Field>
        <Field label="Password" error={errors.password?.message}>
          <Input type="password" autoComplete="current-password" {...form.register("password")} />
        </Field>
        <FormError message={errors.root?.server?.message} />
        <Button type="submit" size="lg" loading={isSubmitting} className="w-full">
          Sign in
        </Button>
      </form>
    </AuthLayout>
  );
}
