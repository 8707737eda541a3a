// One chat user = one headless Chromium with a fresh profile (Debian's chromium, driven by
// playwright-core; nothing is downloaded).
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../../../test-support/chromium.js';

export interface BrowserUser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors, for assertions and failure messages. */
  readonly errors: string[];
  close(): Promise<void>;
}

export const PHONE = { width: 390, height: 740 };
export const DESKTOP = { width: 1100, height: 720 };

export async function launchUser(viewport = DESKTOP): Promise<BrowserUser> {
  const browser = await launchChromium({ viewport, colorScheme: 'light' });
  const { context } = browser;
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await browser.close().catch(() => {});
    },
  };
}
