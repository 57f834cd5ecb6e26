/**
 * The middleware that lets the runtime read its other sockets under a burst: a call yields only
 * while more than a few others are in flight, and a call whose client went away (it never
 * finishes) stops counting once it is older than any call may be held.
 */
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { yieldWhenBusy } from "../../src/http/yield-when-busy.js";

function appWithHangs() {
  const app = new Hono();
  app.use(yieldWhenBusy());
  app.get("/hang", () => new Promise<Response>(() => undefined));
  app.get("/ok", (c) => c.text("ok"));
  return app;
}

/** Whether answering `/ok` waited a timer turn first. */
async function yielded(app: Hono): Promise<boolean> {
  const timers = vi.spyOn(globalThis, "setTimeout");
  try {
    expect(await (await app.request("/ok")).text()).toBe("ok");
    return timers.mock.calls.some(([, ms]) => ms === 0);
  } finally {
    timers.mockRestore();
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("yieldWhenBusy", () => {
  it("a call with few others in flight goes on at once; past four, it yields; a call left hanging stops counting after two minutes", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.parse("2026-12-01T00:00:00Z") });
    const app = appWithHangs();
    expect(await yielded(app)).toBe(false);
    for (let i = 0; i < 3; i++) void app.request("/hang");
    expect(await yielded(app)).toBe(false);
    for (let i = 0; i < 2; i++) void app.request("/hang");
    expect(await yielded(app)).toBe(true);
    // Five calls whose clients went away never finish; once older than any held call, they no longer count.
    vi.setSystemTime(Date.now() + 121_000);
    expect(await yielded(app)).toBe(false);
  });
});
