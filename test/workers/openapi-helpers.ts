/** The OpenAPI document as the app serves it, and reading a zod schema as the document holds it. */
import { expect } from "vitest";
import { z } from "zod";
import { direct } from "./direct.js";

export type Media = { schema: unknown; examples?: Record<string, { value: unknown }> };
export type Op = { operationId: string; summary: string; security: { bearer?: string[] }[]; parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, Media> }; responses: Record<string, { content?: Record<string, Media> }> };
export type Doc = { openapi: string; paths: Record<string, Record<string, Op>>; components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> } };

export async function document(): Promise<Doc> {
  const res = await direct(null, "GET", "/v1/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return JSON.parse(res.text) as Doc;
}
export const toOpenApi = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/**
 * A zod schema's JSON Schema as the document must hold it: its own `$defs` (zod's, for recursive
 * schemas) live in the document's components, referred to there.
 */
export function asInDocument(doc: Doc, shape: z.ZodType): unknown {
  const { $schema: _, $defs, ...rest } = z.toJSONSchema(shape, { io: "output", unrepresentable: "any" }) as Record<string, unknown>;
  let text = JSON.stringify(rest);
  for (const [local, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) {
    const name = Object.keys(doc.components.schemas).find((c) => JSON.stringify(def).replaceAll(`"#/$defs/${local}"`, `"#/components/schemas/${c}"`) === JSON.stringify(doc.components.schemas[c]));
    expect(name, `the document's component for ${local} of ${text.slice(0, 80)}`).toBeDefined();
    text = text.replaceAll(`"#/$defs/${local}"`, `"#/components/schemas/${name}"`);
  }
  return JSON.parse(text);
}

