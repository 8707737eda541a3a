// Headless Chromium for the interop and end-to-end tests of every package: Debian's chromium
// (never a browser downloaded by a test tool), driven by playwright-core, each launch on a
// fresh profile that is deleted when it closes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Root needs --no-sandbox; the background-networking flags keep Chromium from calling hosts a
 * closed network refuses (each refusal otherwise shows up in tests as noise and delay).
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Chromium {
  readonly context: BrowserContext;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/** A persistent context is how playwright takes a fresh --user-data-dir. */
export async function launchChromium(options: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {}): Promise<Chromium> {
  const profile = await mkdtemp(join(tmpdir(), 'switchyard-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: 20_000,
      ...(options.viewport ? { viewport: options.viewport } : {}),
      ...(options.colorScheme ? { colorScheme: options.colorScheme } : {}),
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          await rm(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
