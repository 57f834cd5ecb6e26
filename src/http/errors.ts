import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ProblemError, problemResponse, titleOf } from "./problem.js";

/** Every error as problem details: the client's own as 4xx, load as 503, and only our faults as 500. */
export function errorResponse(err: unknown): Response {
  if (err instanceof ProblemError) return problemResponse(err.toProblem());
  if (err instanceof HTTPException) return fromHttpException(err);
  // Storage that is full stays full: a retry cannot succeed, so it is no 503.
  if (err instanceof Error && /SQLITE_FULL|database or disk is full|exceeded.*storage/i.test(err.message)) {
    return problemResponse({ type: "urn:tether:problem:storage-full", title: "Insufficient storage", status: 507, detail: "the control plane's storage for this agent or run is full; delete runs or lower retention_days" });
  }
  if (err instanceof Error && isOverload(err)) {
    const res = problemResponse({ type: "urn:tether:problem:overloaded", title: "Service unavailable", status: 503, detail: "the control plane is overloaded right now; retry shortly" });
    res.headers.set("retry-after", "1");
    return res;
  }
  console.error("unhandled", err);
  return problemResponse({ type: "urn:tether:problem:internal", title: "Internal error", status: 500, detail: "something went wrong on our side" });
}

/**
 * Hono's own middleware (and any code written for Hono) signals an answer by throwing an
 * HTTPException; its status is the answer meant, and only its body needs to become a problem.
 */
function fromHttpException(err: HTTPException): Response {
  const status = err.status >= 400 && err.status <= 599 ? err.status : 500;
  if (status >= 500 && status !== 503) console.error("unhandled", err);
  const title = titleOf(status);
  const detail = status >= 500 && status !== 503 ? "something went wrong on our side" : err.message || title.toLowerCase();
  const res = problemResponse({ type: `urn:tether:problem:${slug(title)}`, title, status, detail });
  const retry = err.res?.headers.get("retry-after");
  if (retry) res.headers.set("retry-after", retry);
  return res;
}

const slug = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, "-");

/**
 * Load, not a fault: an object that is overloaded or says to retry, or a runtime out of room
 * for another open database (thousands of live run objects in one local process). The client
 * is told to come back, not that something broke.
 */
function isOverload(err: Error): boolean {
  const e = err as Error & { overloaded?: boolean; retryable?: boolean };
  return e.overloaded === true || e.retryable === true || /SQLITE_NOMEM|overloaded/i.test(err.message);
}

/**
 * Hono hands only Error instances to onError and rethrows anything else (a thrown string, a
 * rejected promise with no reason) out of app.fetch, where the runtime answers with a bare 500.
 * Catching here, inside the header middleware, makes even that a problem answer with headers.
 */
export function catchAll(): MiddlewareHandler {
  return async function catchAll(c, next) {
    try {
      await next();
    } catch (err) {
      c.res = errorResponse(err);
    }
  };
}
