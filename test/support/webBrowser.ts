import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Screenshots of every page, kept for a person to look at (gitignored). */
export const screenshotDir = fileURLToPath(new URL('../../../test-output/screenshots/', import.meta.url));

/** Debian's chromium, headless (root needs --no-sandbox). */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(screenshotDir, { recursive: true });
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}

/** A fresh browser context at the 1280×800 (downloads accepted; `permissions` e.g. the clipboard; waits up to 60 s). */
export async function newPage(browser: Browser, options: { colorScheme?: 'dark' | 'light'; permissions?: string[] } = {}): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? 'dark',
    acceptDownloads: true,
    permissions: options.permissions,
  });
  // Waits end as soon as the page shows what is awaited; the deadline is generous so a loaded machine slows a test, never fails it.
  context.setDefaultTimeout(60_000);
  return context.newPage();
}

/** Logs in on the login page with an API key (or the admin token) and waits for the shell. */
export async function logIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('API key').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${screenshotDir}${name}.png` });
}
