import { zodResolver } from "@hookform/resolvers/zod";
import { useEffect } from "react";
import { Controller, useForm } from "react-hook-form";
import type { ProviderView } from "@/api/client";
import { FormError } from "@/components/FormError";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Field } from "@/components/ui/form-field";
import { Input, Textarea } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { Switch } from "@/components/ui/switch";
import { toast } from "@/components/ui/toast";
import { applyServerError } from "@/lib/forms";
import { type ProviderInput, useCreateProvider, useUpdateProvider } from "@/pages/ai/api";
import { useWorkspace } from "@/pages/workspaces/context";
import { baseUrlForApi, keyNeedsReentry, PROVIDER_APIS, type ProviderApi, type ProviderForm, parseModelList, providerSchema } from "./schemas";

const API_OPTIONS = (Object.keys(PROVIDER_APIS) as ProviderApi[]).map((value) => ({
  value,
  label: PROVIDER_APIS[value].label,
  description: PROVIDER_APIS[value].description,
}));

const LABELS = {
  name: "Name",
  api: "API",
  base_url: "Base URL",
  api_key: "API key",
  models: "Models",
  enabled: "Enabled",
  prompt_caching: "Prompt caching",
} as const;

/** Add a provider, or edit one (`provider` given). The key is write-only: blank keeps it. */
export function ProviderDialog({
  open,
  onOpenChange,
  provider,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  provider?: ProviderView | null;
}) {
  const ws = useWorkspace();
  const create = useCreateProvider(ws.id);
  const update = useUpdateProvider(ws.id);
  const editing = Boolean(provider);
  const blank: ProviderForm = { api: "openai", name: "", base_url: "", api_key: "", remove_key: false, models: "", enabled: true, prompt_caching: true };
  const form = useForm<ProviderForm>({ resolver: zodResolver(providerSchema), defaultValues: blank });
  const { errors, isSubmitting } = form.formState;
  const removeKey = form.watch("remove_key");
  const api = PROVIDER_APIS[form.watch("api")];
  const reenterKey = provider != null && !removeKey && keyNeedsReentry(provider, form.watch("api"), form.watch("base_url"));

  useEffect(() => {
    if (!open) return;
    form.reset(
      provider
        ? {
            api: provider.api,
            name: provider.name,
            base_url: provider.base_url,
            api_key: "",
            remove_key: false,
            models: provider.models.join(", "),
            enabled: provider.enabled,
            prompt_caching: provider.prompt_caching,
          }
        : blank,
    );
    // Reset each time it opens (not when the form object changes).
  }, [open, provider]);

  const onSubmit = form.handleSubmit(async (v) => {
    const models = parseModelList(v.models);
    if (provider && !v.remove_key && !v.api_key && keyNeedsReentry(provider, v.api, v.base_url)) {
      form.setError("api_key", { message: "Enter the key again for the new address or protocol, or remove it" });
      return;
    }
    try {
      if (provider) {
        const body: Partial<ProviderInput> & { id: string } = {
          id: provider.id,
          api: v.api,
          name: v.name.trim(),
          base_url: v.base_url.trim(),
          models,
          enabled: v.enabled,
        };
        // Only Anthropic reads it: switching protocol keeps what was stored.
        if (v.api === "anthropic") body.prompt_caching = v.prompt_caching;
        if (v.remove_key) body.api_key = "";
        else if (v.api_key) body.api_key = v.api_key;
        await update.mutateAsync(body);
        toast({ title: "Provider saved", description: v.name.trim() });
      } else {
        await create.mutateAsync({
          api: v.api,
          name: v.name.trim(),
          base_url: v.base_url.trim(),
          api_key: v.api_key || null,
          models,
          enabled: v.enabled,
          ...(v.api === "anthropic" ? { prompt_caching: v.prompt_caching } : {}),
        });
        toast({ title: "Provider added", description: `${v.name.trim()}: test it to check the connection.` });
      }
      onOpenChange(false);
    } catch (err) {
      applyServerError(err, form.setError, { labels: LABELS });
    }
  });

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="max-w-xl">
        <DialogHeader>
          <DialogTitle>{editing ? `Edit ${provider?.name}` : "Add an AI provider"}</DialogTitle>
          <DialogDescription>
            Any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp, LiteLLM, OpenRouter…) or Anthropic.
            Providers are tried in order, and the next one takes over when one fails.
          </DialogDescription>
        </DialogHeader>
        <form onSubmit={onSubmit} className="grid gap-4" noValidate>
          <Field label="Name" error={errors.name?.message}>
            <Input autoComplete="off" autoFocus placeholder="e.g. OpenAI" {...form.register("name")} />
          </Field>
          <Controller
            control={form.control}
            name="api"
            render={({ field }) => (
              <Field label="API" error={errors.api?.message} description="The protocol the endpoint speaks.">
                <Select
                  value={field.value}
                  onValueChange={(next) => {
                    field.onChange(next);
                    const url = baseUrlForApi(form.getValues("base_url"), next);
                    if (url !== form.getValues("base_url")) form.setValue("base_url", url);
                  }}
                  options={API_OPTIONS}
                />
              </Field>
            )}
          />
          <Field
            label="Base URL"
            error={errors.base_url?.message}
            description={`The address that ends in /v1, e.g. ${api.baseUrl}${form.watch("api") === "openai" ? " or http://localhost:11434/v1" : ""}`}
          >
            <Input autoComplete="off" spellCheck={false} inputMode="url" className="font-mono text-xs" placeholder={api.baseUrl} {...form.register("base_url")} />
          </Field>
          <Field
            label="API key"
            error={errors.api_key?.message}
            description={
              editing
                ? reenterKey
                  ? "The address or protocol changed: enter the key again. A stored key is only sent where it was given for."
                  : provider?.has_api_key
                  ? "A key is stored. Leave this empty to keep it, or enter a new one to replace it."
                  : "No key is stored. Local servers often need none."
                : "Stored encrypted and never shown again. Optional for local servers."
            }
          >
            <Input
              type="password"
              autoComplete="new-password"
              spellCheck={false}
              className="font-mono text-xs"
              disabled={removeKey}
              placeholder={editing && provider?.has_api_key && !reenterKey ? "•••••••• (unchanged)" : api.keyPlaceholder}
              {...form.register("api_key")}
            />
          </Field>
          {editing && provider?.has_api_key && (
            <Controller
              control={form.control}
              name="remove_key"
              render={({ field }) => (
                <Field label="Remove the stored key" inline description="For endpoints that need no key.">
                  <Switch checked={field.value} onCheckedChange={field.onChange} />
                </Field>
              )}
            />
          )}
          <Field label="Models" error={errors.models?.message} description="The model names this endpoint serves, separated by commas or new lines. The first is the default unless you choose another.">
            <Textarea spellCheck={false} className="min-h-16 font-mono text-xs" placeholder={api.modelsPlaceholder} {...form.register("models")} />
          </Field>
          {form.watch("api") === "anthropic" && (
            <Controller
              control={form.control}
              name="prompt_caching"
              render={({ field }) => (
                <Field
                  label="Prompt caching"
                  inline
                  description="Marks the system prompt and recent turns for Anthropic's prompt cache. Writing the cache costs 25% more than plain input, reading it 90% less, so conversations cost less from their second turn on."
                >
                  <Switch checked={field.value} onCheckedChange={field.onChange} aria-label="Prompt caching" />
                </Field>
              )}
            />
          )}
          <Controller
            control={form.control}
            name="enabled"
            render={({ field }) => (
              <Field label="Enabled" inline description="Disabled providers are kept but never called.">
                <Switch checked={field.value} onCheckedChange={field.onChange} />
              </Field>
            )}
          />
          <FormError message={errors.root?.server?.message} />
          <DialogFooter>
            <Button variant="outline" onClick={() => onOpenChange(false)}>
              Cancel
            </Button>
            <Button type="submit" loading={isSubmitting}>
              {editing ? "Save provider" : "Add provider"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
