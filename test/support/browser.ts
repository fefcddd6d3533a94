import { existsSync } from "node:fs";
import { expect } from "vitest";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";

/** Debian's chromium: the browser tests drive it on loopback; no browser is downloaded. */
export const CHROMIUM = "/usr/bin/chromium";

/** Fails at once, with the reason, when the browser is not installed. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); no browser is downloaded`,
    );
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

/** A new browser context logged in to the console at `baseUrl` through its login form. */
export async function logIn(
  browser: Browser,
  baseUrl: string,
  username: string,
  password: string,
  options: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  await page.goto(baseUrl + "/");
  expect(page.url()).toContain("/login");
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForLoadState();
  if (new URL(page.url()).pathname !== "/")
    throw new Error(
      `login as ${username} failed: ${page.url()}: ${await page.locator("main, .login").first().innerText()}`,
    );
  return { context, page };
}
