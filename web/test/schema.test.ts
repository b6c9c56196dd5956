// @vitest-environment node
// The generated API types must match docs/api/openapi.json (generated from the server).
// When this fails: `npm run gen:api`, then fix what no longer type-checks.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import { describe, expect, it } from "vitest";

const docUrl = new URL("../../docs/api/openapi.json", import.meta.url);
const schemaPath = fileURLToPath(new URL("../src/api/schema.d.ts", import.meta.url));

describe("src/api/schema.d.ts", () => {
  it("is what openapi-typescript makes of docs/api/openapi.json (run `npm run gen:api` if not)", async () => {
    const doc = JSON.parse(readFileSync(docUrl, "utf8"));
    const fresh = COMMENT_HEADER + astToString(await openapiTS(doc, { silent: true }));
    const committed = readFileSync(schemaPath, "utf8");
    expect(committed === fresh, "src/api/schema.d.ts is stale: run `npm run gen:api`").toBe(true);
  }, 30_000);
});
