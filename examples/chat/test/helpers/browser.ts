// One chat user = one headless Chromium with a fresh profile (Debian's chromium, driven by
// playwright-core; nothing is downloaded).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

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
  const profile = await mkdtemp(join(tmpdir(), 'chat-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    colorScheme: 'light',
  });
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
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
