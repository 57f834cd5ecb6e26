/** Errors as problem details: every 4xx says what is wrong in words a person can act on. */
import type { Problem } from "../protocol/problem.js";

export type { Problem };

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Payload too large",
  414: "URI too long",
  415: "Unsupported media type",
  426: "Upgrade required",
  429: "Too many requests",
  500: "Internal error",
  501: "Not implemented",
  503: "Service unavailable",
};

export const titleOf = (status: number) => TITLES[status] ?? (status >= 500 ? "Server error" : "Error");

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    detail: string,
    readonly errors?: Problem["errors"],
  ) {
    super(detail);
  }

  toProblem(): Problem {
    const p: Problem = { type: `urn:tether:problem:${this.slug}`, title: titleOf(this.status), status: this.status, detail: this.message };
    if (this.errors) p.errors = this.errors;
    return p;
  }
}

export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), { status: p.status, headers: { ...headers, "content-type": "application/problem+json" } });
}

export const notFound = (what: string) => new ProblemError(404, "not-found", `${what} does not exist`);
