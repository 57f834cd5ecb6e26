/**
 * Debian's chromium, driven by playwright-core, for the dashboard's tests: one browser, pages
 * that record any CSP refusal, script error or failed request, and screenshots. They and the
 * figures go to test-output/; with TETHER_UPDATE_DOCS=1, to docs/, where the README shows them,
 * so a plain `npm test` leaves the checkout as it found it.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { repoRoot } from "../../src/local/paths.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Where the tests write what they saw: docs/ when asked to refresh it, test-output/ (ignored by git) otherwise. */
export const OUTPUT = join(repoRoot(), process.env.TETHER_UPDATE_DOCS === "1" ? "docs" : "test-output");
const SCREENSHOTS = join(OUTPUT, "screenshots");

/** A missing browser fails the test: CI installs chromium (.ci/run); a skipped browser test would pass while testing nothing. */
export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium), or set CHROMIUM_PATH`);
  // --no-sandbox: CI runs as root, where chromium refuses its own sandbox.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

/** A page whose problems (CSP refusals show up as console errors) are pushed to `problems`. */
export async function watchedPage(browser: Browser, problems: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
