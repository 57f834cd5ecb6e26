/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core, against the real
 * stack (workerd, the D1 index, a real tether-agent). Sign in with a token, see a run submitted
 * through the SDK appear in the list, open it and watch its output arrive live (the job prints,
 * then waits on its stdin until the page sends it a line, so the second line can only come over
 * the open stream), see a run's coloured output, result, inputs and children, cancel a running
 * one and approve a held one from its page, pause and resume a schedule, and filter the list by
 * status. The main pages are saved as screenshots (test-output/, or docs/ with TETHER_UPDATE_DOCS=1).
 * The figures (first paint, a live line's latency, 100 MB of output) are dashboard-figures.test.ts.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHostAgent } from "../../src/local/stack.js";
import { launch, screenshot, watchedPage } from "./browser.js";
import { startStack, type Stack } from "./harness.js";

let s: Stack;
let browser: Browser;
let page: Page;
// A CSP refusal or a script error shows up here; the page must have none.
const problems: string[] = [];

beforeAll(async () => {
  s = await startStack();
  browser = await launch();
  page = await watchedPage(browser, problems);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await s?.stop();
});

const row = (id: string) => page.locator(`tr[data-run="${id}"]`);

describe("the dashboard", () => {
  it("signs in with a token kept in session storage, never in the URL, and lists the agent", async () => {
    await page.goto(`${s.url}/`);
    await page.locator("#token").waitFor();
    await screenshot(page, "sign-in");
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
    await screenshot(page, "agent");
  });

  it("renders the API reference at /docs from the OpenAPI document", async () => {
    await page.goto(`${s.url}/docs`);
    await page.locator("#getRuns").waitFor();
    expect(await page.locator("details.op").count()).toBeGreaterThan(30);
    expect(await page.locator("#postAgentsAgentRuns").textContent()).toContain("runs:write");
    // Each operation shows its example body and answer, not only their schemas.
    const submit = await page.locator("#postAgentsAgentRuns pre.example").allTextContents();
    expect(submit).toHaveLength(2);
    expect(JSON.parse(submit[0]!)).toHaveProperty("argv");
    expect(JSON.parse(submit[1]!)).toMatchObject({ status: "queued" });
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
    // Sent from the page's own input box, closing the job's stdin after it.
    await page.fill("#input-text", "hello");
    await page.check("#input-eof");
    await page.click("#input-form button");
    await page.locator("#sent-inputs tr", { hasText: "hello" }).waitFor();
    await expect.poll(() => output.textContent(), { timeout: 20_000 }).toContain("got hello");
    await page.locator("#output .stderr", { hasText: "to stderr" }).waitFor();
    await page.locator('#run-head [data-status="succeeded"]').waitFor({ timeout: 20_000 });
    // The events timeline came over the same stream.
    expect(await page.locator("#events tr[data-event]").count()).toBeGreaterThan(0);
  });

  it("shows a run's coloured output, stderr apart, its result, inputs and children", async () => {
    const E = "\\x1b";
    const job = [
      process.execPath,
      "-e",
      `
      const api = (method, path, json) => fetch(process.env.TETHER_URL + path, { method,
        headers: { authorization: "Bearer " + process.env.TETHER_TOKEN, "content-type": "application/json" },
        body: json === undefined ? undefined : JSON.stringify(json) });
      (async () => {
        console.log("${E}[32mgreen${E}[0m plain ${E}[94mbright blue${E}[0m");
        console.error("${E}[1;31mbold red on stderr${E}[0m");
        console.log("<b>not bold</b> &amp;");
        const agent = process.env.TETHER_RUN_ID.split("_").pop();
        const child = await (await api("POST", "/v1/agents/" + agent + "/runs", { argv: ["echo", "a child"] })).json();
        console.log("child " + child.id);
        require("fs").writeFileSync(process.env.TETHER_RESULT_PATH, JSON.stringify({ ok: true, deployed: JSON.parse(process.env.TETHER_INPUT_TARGET) }));
      })().catch((e) => { console.error(e); process.exit(1); });`,
    ];
    const run = await s.client.submit(s.agent, { argv: job, inputs: { target: "staging", replicas: 3 } });
    await page.goto(`${s.url}/#/runs/${run.id}`);
    await page.locator('#run-head [data-status="succeeded"]').waitFor({ timeout: 30_000 });
    const output = page.locator("#output");
    await expect.poll(() => output.textContent(), { timeout: 20_000 }).toContain("child run_");
    // Colours as classes, the escape codes gone, stderr marked, and markup shown as text.
    expect(await output.locator(".a32").first().textContent()).toBe("green");
    expect(await output.locator(".a94").first().textContent()).toBe("bright blue");
    expect(await output.locator(".stderr.a31.ab").first().textContent()).toBe("bold red on stderr");
    const text = (await output.textContent())!;
    expect(text).not.toContain("\x1b");
    expect(text).toContain("<b>not bold</b> &amp;");
    expect(await output.locator("b").count()).toBe(0);
    // Its result, its named inputs, and the run its job submitted.
    await expect.poll(() => page.locator("#result").textContent()).toContain('"deployed": "staging"');
    expect(await page.locator("#named-inputs").textContent()).toContain("replicas");
    const childId = /child (run_\S+)/.exec(text)![1]!;
    await page.locator(`#children tr[data-run="${childId}"]`).waitFor({ timeout: 20_000 });
    expect((await s.client.get(childId)).parent_run_id).toBe(run.id);
    await expect.poll(() => page.locator("#events tr[data-event]").count()).toBeGreaterThan(0);
    await screenshot(page, "run");
  });

  it("follows the end of the output until the reader scrolls up, and again from the Follow button", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo line $i; sleep 0.005; done"] });
    await page.goto(`${s.url}/#/runs/${run.id}`);
    const output = page.locator("#output");
    const atEnd = () => output.evaluate((e) => e.scrollTop + e.clientHeight >= e.scrollHeight - 4);
    const lines = () => output.evaluate((e) => e.childElementCount);
    await expect.poll(lines, { timeout: 20_000 }).toBeGreaterThan(100);
    expect(await atEnd()).toBe(true);
    await output.evaluate((e) => (e.scrollTop = 0));
    await page.locator("#follow").waitFor();
    // More output comes, and the reader stays where they were.
    const before = await lines();
    await expect.poll(lines, { timeout: 20_000 }).toBeGreaterThan(before + 50);
    expect(await atEnd()).toBe(false);
    await page.click("#follow");
    await expect.poll(lines, { timeout: 20_000 }).toBeGreaterThan((await lines()) + 20);
    expect(await atEnd()).toBe(true);
    expect(await page.locator("#follow").isHidden()).toBe(true);
    await s.client.cancel(run.id);
  });

  it("shows schedules with their next fire time, and pauses and resumes one", async () => {
    const sch = await s.client.createSchedule(s.agent, { cron: "*/5 * * * *", run: { argv: ["echo", "every five minutes"] } });
    await page.goto(`${s.url}/#/schedules`);
    const row = page.locator(`tr[data-schedule="${sch.id}"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await row.locator(".next").getAttribute("title")).toBe(sch.next_run_at);
    await row.locator("a.upcoming").click();
    await expect.poll(() => row.locator("ul.times li").count()).toBe(5);
    await screenshot(page, "schedules");
    await row.locator("button.pause").click();
    await page.locator(`tr[data-schedule="${sch.id}"][data-enabled="false"]`).waitFor();
    expect(await row.textContent()).toContain("paused");
    expect((await s.client.getSchedule(sch.id)).enabled).toBe(false);
    await row.locator("button.resume").click();
    await page.locator(`tr[data-schedule="${sch.id}"][data-enabled="true"] .next`).waitFor();
    expect((await s.client.getSchedule(sch.id)).next_run_at).not.toBeNull();
    await s.client.deleteSchedule(sch.id);
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

  it("denies a held run from its page, and it ends cancelled without running", async () => {
    const run = await s.client.submit("asks", { argv: ["sh", "-c", "echo must not run"] });
    await page.goto(`${s.url}/#/runs/${run.id}`);
    await page.locator('#run-head [data-status="awaiting_approval"]').waitFor({ timeout: 20_000 });
    await page.click("#deny");
    await page.locator('#run-head [data-status="cancelled"]').waitFor({ timeout: 20_000 });
    expect(await page.locator("#approval").textContent()).toContain("denied");
    const ended = await s.client.get(run.id);
    expect([ended.status, ended.approval?.state, ended.exit_code]).toEqual(["cancelled", "denied", null]);
    expect(await page.locator("#output").textContent()).not.toContain("must not run");
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
    // Every run of this file, unfiltered, for the README.
    await page.click("#filters a");
    await expect.poll(() => page.locator("tr[data-run]").count(), { timeout: 10_000 }).toBeGreaterThan(5);
    await screenshot(page, "home");
  });

  it("ran with no CSP refusal and no script error", () => {
    expect(problems).toEqual([]);
  });
});
