import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect } from "react";
import { Controller, useForm } from "react-hook-form";
import type { AiSettingsView, ModelView } from "@/api/client";
import { ErrorState } from "@/components/ErrorState";
import { FormError } from "@/components/FormError";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { toast } from "@/components/ui/toast";
import { applyServerError } from "@/lib/forms";
import { useAiSettings, useModels, useSaveAiSettings } from "@/pages/ai/api";
import { useWorkspace } from "@/pages/workspaces/context";
import { type DefaultsForm, defaultsSchema, NONE } from "./schemas";

function toForm(s: AiSettingsView | undefined): DefaultsForm {
  return {
    default_model: s?.default_model ?? NONE,
    small_model: s?.small_model ?? NONE,
    large_model: s?.large_model ?? NONE,
    fallback_models: s?.fallback_models ?? [],
    member_monthly_tokens: s?.member_monthly_tokens != null ? String(s.member_monthly_tokens) : "",
    public_links: s?.public_links ?? true,
  };
}

function toBody(v: DefaultsForm): AiSettingsView {
  const pick = (m: string) => (m === NONE ? null : m);
  return {
    default_model: pick(v.default_model),
    small_model: pick(v.small_model),
    large_model: pick(v.large_model),
    fallback_models: v.fallback_models,
    member_monthly_tokens: v.member_monthly_tokens === "" ? null : Number(v.member_monthly_tokens),
    public_links: v.public_links,
  };
}

const LABELS = {
  default_model: "Default model",
  small_model: "Small model",
  large_model: "Large model",
  fallback_models: "Fallback models",
  member_monthly_tokens: "Tokens per member",
  public_links: "Public links",
} as const;

/**
 * The workspace's AI defaults: which model does what, a per-member monthly limit, and
 * whether conversations may be shared by public link.
 */
export function AiDefaultsCard() {
  const ws = useWorkspace();
  const settings = useAiSettings(ws.id);
  const models = useModels(ws.id);
  const save = useSaveAiSettings(ws.id);
  const form = useForm<DefaultsForm>({ resolver: zodResolver(defaultsSchema), defaultValues: toForm(undefined) });
  const { errors, isSubmitting, isDirty } = form.formState;

  useEffect(() => {
    if (settings.data) form.reset(toForm(settings.data));
  }, [settings.data, form]);

  if (settings.isError) return <ErrorState error={settings.error} onRetry={() => settings.refetch()} />;

  const list: ModelView[] = models.data ?? [];
  const offered = new Set(list.map((m) => m.id));
  // A model chosen before its provider was removed or switched off stays visible, marked,
  // so that it can be changed (saving it again is refused).
  const NOT_OFFERED = "No longer offered";
  const options = (none: string, current: string) => [
    { value: NONE, label: none },
    ...list.map((m) => ({ value: m.id, label: m.id, description: m.provider_name })),
    ...(current !== NONE && !offered.has(current) ? [{ value: current, label: current, description: NOT_OFFERED }] : []),
  ];
  const onSubmit = form.handleSubmit(async (v) => {
    try {
      await save.mutateAsync(toBody(v));
      toast({ title: "AI defaults saved" });
    } catch (err) {
      applyServerError(err, form.setError, { labels: LABELS });
    }
  });

  return (
    <Card>
      <form onSubmit={onSubmit} noValidate>
        <CardHeader>
          <CardTitle>AI defaults</CardTitle>
          <CardDescription>
            Which model does what in this workspace. Models come from the providers above.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-5">
          {settings.isPending || models.isPending ? (
            <div className="grid gap-3">
              <Skeleton className="h-9 w-full" />
              <Skeleton className="h-9 w-full" />
            </div>
          ) : list.length === 0 ? (
            <p className="text-sm text-muted-foreground">Add a provider first: its models can then be chosen here.</p>
          ) : (
            <>
              <div className="grid gap-4 sm:grid-cols-3">
                <Controller
                  control={form.control}
                  name="default_model"
                  render={({ field }) => (
                    <Field label="Default model" error={errors.default_model?.message} description="New conversations start with it.">
                      <Select value={field.value} onValueChange={field.onChange} options={options("First offered", field.value)} />
                    </Field>
                  )}
                />
                <Controller
                  control={form.control}
                  name="small_model"
                  render={({ field }) => (
                    <Field label="Small model" error={errors.small_model?.message} description="Quick jobs such as naming conversations.">
                      <Select value={field.value} onValueChange={field.onChange} options={options("Not set", field.value)} />
                    </Field>
                  )}
                />
                <Controller
                  control={form.control}
                  name="large_model"
                  render={({ field }) => (
                    <Field label="Large model" error={errors.large_model?.message} description={'For "Use large model" on hard questions.'}>
                      <Select value={field.value} onValueChange={field.onChange} options={options("Not set", field.value)} />
                    </Field>
                  )}
                />
              </div>
              <Controller
                control={form.control}
                name="fallback_models"
                render={({ field }) => (
                  <fieldset className="grid gap-2">
                    <legend className="mb-1.5 text-sm font-medium">Fallback models</legend>
                    <p className="-mt-1 text-xs text-muted-foreground">
                      Tried in this order when every provider of the requested model fails.
                    </p>
                    <div className="flex flex-wrap gap-2">
                      {[...list.map((m) => m.id), ...field.value.filter((id) => !offered.has(id))].map((id) => {
                        const on = field.value.includes(id);
                        return (
                          <label
                            key={id}
                            className="inline-flex cursor-pointer items-center gap-2 rounded-md border bg-card px-2.5 py-1.5 text-sm has-[:checked]:border-primary/40 has-[:checked]:bg-primary-soft has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-ring"
                          >
                            <input
                              type="checkbox"
                              className="size-3.5 accent-[var(--primary)]"
                              checked={on}
                              onChange={() => field.onChange(on ? field.value.filter((x) => x !== id) : [...field.value, id])}
                            />
                            <span className="font-mono text-xs">{id}</span>
                            {on && <span className="text-xs text-muted-foreground">#{field.value.indexOf(id) + 1}</span>}
                            {!offered.has(id) && <span className="text-xs text-destructive">{NOT_OFFERED.toLowerCase()}</span>}
                          </label>
                        );
                      })}
                    </div>
                    {errors.fallback_models?.message && <p className="text-xs font-medium text-destructive" role="alert">{errors.fallback_models.message}</p>}
                  </fieldset>
                )}
              />
              <Field
                label="Tokens per member per month"
                error={errors.member_monthly_tokens?.message}
                description="Each member's own monthly limit. Leave empty: only the plan's workspace limit applies."
                className="sm:max-w-xs"
              >
                <Input inputMode="numeric" placeholder="No per-member limit" {...form.register("member_monthly_tokens")} />
              </Field>
              <Controller
                control={form.control}
                name="public_links"
                render={({ field }) => (
                  <div className="flex items-start justify-between gap-4 rounded-lg border p-3">
                    <div className="grid gap-1">
                      <span id="public-links-label" className="text-sm font-medium">
                        Public links
                      </span>
                      <span id="public-links-help" className="text-xs text-muted-foreground">
                        Members may share a conversation by a link anyone can open without signing in.
                      </span>
                      {/* Always there, so that screen readers hear the warning when it comes. */}
                      <span id="public-links-warning" className="text-xs font-medium text-destructive empty:hidden" role="status">
                        {!field.value && settings.data?.public_links !== false ? "Saving takes down every public link in this workspace." : ""}
                      </span>
                    </div>
                    <Switch
                      aria-labelledby="public-links-label"
                      aria-describedby="public-links-help public-links-warning"
                      checked={field.value}
                      onCheckedChange={field.onChange}
                    />
                  </div>
                )}
              />
            </>
          )}
          <FormError message={errors.root?.server?.message} />
        </CardContent>
        {list.length > 0 && (
          <CardFooter>
            <Button variant="outline" disabled={!isDirty || isSubmitting} onClick={() => form.reset(toForm(settings.data))}>
              Discard
            </Button>
            <Button type="submit" loading={isSubmitting} disabled={!isDirty}>
              Save defaults
            </Button>
          </CardFooter>
        )}
      </form>
    </Card>
  );
}
