import type { Schemas } from "@/api/client";

export type CreatedApiKeyResult = Schemas["CreatedApiKey"];
