/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core, against the real
 * stack (workerd, the D1 index, a real tether-agent). Sign in with a token, see a run submitted
 * through the SDK appear in the list, open it and watch its output arrive live (the job prints,
 * then waits on its stdin until the test answers, so the second line can only come over the
 * open stream), cancel a running one and approve a held one from its page, and filter the
 * list by status. A missing browser fails the test: CI installs chromium (.ci/run); a skipped
 * browser test would pass while testing nothing.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHostAgent } from "../../src/local/stack.js";
import { startStack, type Stack } from "./harness.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let s: Stack;
let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium), or set CHROMIUM_PATH`);
  s = await startStack();
  // --no-sandbox: CI runs as root, where chromium refuses its own sandbox.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  page = await browser.newPage();
  // A CSP refusal or a script error shows up here; the page must have none.
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await s?.stop();
});

const row = (id: string) => page.locator(`tr[data-run="${id}"]`);

describe("the dashboard", () => {
  it("signs in with a token kept in session storage, never in the URL, and lists the agent", async () => {
    await page.goto(`${s.url}/`);
    await page.fill("#token", s.token);
    await page.click("#signin button");
    await page.locator(`tr[data-agent="${s.agent}"]`).waitFor();
    expect(page.url()).not.toContain(s.token);
    expect(await page.evaluate(() => sessionStorage.getItem("tether.token"))).toBe(s.token);
    // The agent has a host connected, so it shows online.
    await expect.poll(() => page.locator(`tr[data-agent="${s.agent}"]`).textContent()).toContain("online");
  });

  it("shows an agent's hosts with their slots and policy", async () => {
    await page.locator(`tr[data-agent="${s.agent}"]`).click();
    await page.waitForURL(new RegExp(`#/agents/${s.agent}$`));
    const host = page.locator("#hosts tr[data-host]").first();
    await host.waitFor();
    const status = await s.client.agentStatus(s.agent);
    expect(await host.getAttribute("data-host")).toBe(status.hosts[0]!.host_id);
    expect(await host.textContent()).toContain(String(status.hosts[0]!.slots));
    expect(await page.locator("#queue").textContent()).toMatch(/\d+ queued/);
  });

  it("renders the API reference at /docs from the OpenAPI document", async () => {
    await page.goto(`${s.url}/docs`);
    await page.locator("#getRuns").waitFor();
    expect(await page.locator("details.op").count()).toBeGreaterThan(30);
    expect(await page.locator("#postAgentsAgentRuns").textContent()).toContain("runs:write");
    await page.goto(`${s.url}/`);
  });

  it("shows a run submitted through the SDK, and its output live as the job writes it", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", 'echo first line; read answer; echo "got $answer"; echo to stderr >&2'], stdin: { mode: "pipe" } });
    await row(run.id).waitFor({ timeout: 30_000 });
    await row(run.id).click();
    await page.waitForURL(new RegExp(`#/runs/${run.id}$`));
    const output = page.locator("#output");
    await expect.poll(() => output.textContent(), { timeout: 20_000 }).toContain("first line");
    // The job is blocked on its stdin: the next line can only reach the page over the open stream.
    expect(await output.textContent()).not.toContain("got");
    expect((await s.client.input(run.id, "hello\n", { eof: true })).state).not.toBe("rejected");
    await expect.poll(() => output.textContent(), { timeout: 20_000 }).toContain("got hello");
    await page.locator("#output .stderr", { hasText: "to stderr" }).waitFor();
    await page.locator('#run-head [data-status="succeeded"]').waitFor({ timeout: 20_000 });
    // The events timeline came over the same stream.
    expect(await page.locator("#events tr[data-event]").count()).toBeGreaterThan(0);
  });

  it("cancels a running run from its page", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "echo started; exec sleep 300"] });
    await page.goto(`${s.url}/#/runs/${run.id}`);
    await expect.poll(() => page.locator("#output").textContent(), { timeout: 20_000 }).toContain("started");
    await page.locator('#run-head [data-status="running"]').waitFor({ timeout: 20_000 });
    await page.click("#cancel");
    await page.locator('#run-head [data-status="cancelled"]').waitFor({ timeout: 20_000 });
    expect((await s.client.get(run.id)).status).toBe("cancelled");
  });

  it("approves a run a host's policy held for a person, and it runs", async () => {
    // A host that allows only `true` and asks a person about anything else.
    const token = (await s.client.createAgent("asks")).host_token;
    const host = startHostAgent({ url: s.url, hostToken: token, stdio: "pipe", slots: 1, graceMs: 500, policy: ["--security", "allowlist", "--allow", "true", "--sandbox", "off"] });
    s.hosts.push(host);
    await host.connected;
    const run = await s.client.submit("asks", { argv: ["sh", "-c", "echo approved and ran"] });
    await page.goto(`${s.url}/#/runs/${run.id}`);
    await page.locator('#run-head [data-status="awaiting_approval"]').waitFor({ timeout: 20_000 });
    expect(await page.locator("#approval").textContent()).toContain("not on the allowlist");
    await page.click("#approve");
    await expect.poll(() => page.locator("#output").textContent(), { timeout: 20_000 }).toContain("approved and ran");
    await page.locator('#run-head [data-status="succeeded"]').waitFor({ timeout: 20_000 });
  });

  it("filters the runs by status", async () => {
    const failed = await s.client.submit(s.agent, { argv: ["sh", "-c", "exit 3"] });
    await s.client.wait(failed.id);
    await page.goto(`${s.url}/#/`);
    await row(failed.id).waitFor({ timeout: 30_000 });
    await page.selectOption('select[name="status"]', "succeeded");
    await expect.poll(() => row(failed.id).count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(async () => (await page.locator("tr[data-run] [data-status]").allTextContents()).every((t) => t === "succeeded"), { timeout: 10_000 }).toBe(true);
    await page.selectOption('select[name="status"]', "failed");
    await row(failed.id).waitFor({ timeout: 10_000 });
    expect(await page.locator("tr[data-run] [data-status]").allTextContents()).toEqual(expect.arrayContaining(["failed"]));
    expect(new Set(await page.locator("tr[data-run] [data-status]").allTextContents())).toEqual(new Set(["failed"]));
  });

  it("ran with no CSP refusal and no script error", () => {
    expect(problems).toEqual([]);
  });
});
