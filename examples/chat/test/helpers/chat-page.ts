// Drives the chat page the way a person does: keyboard and visible text only.
import type { Page } from 'playwright-core';

export async function openChat(page: Page, origin: string, name: string, room = 'general'): Promise<void> {
  await page.goto(`${origin}/#${room}`);
  await page.locator('#username').fill(name);
  await page.locator('#username').press('Enter');
  await waitForBanner(page, 'connected');
  await page.waitForFunction((room) => document.querySelector('#room-title')?.textContent === `#${room}`, room);
}

export async function say(page: Page, text: string): Promise<void> {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}

export async function waitForBanner(page: Page, state: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction((state) => document.querySelector<HTMLElement>('#banner')?.dataset['state'] === state, state, { timeout });
}

export function bannerText(page: Page): Promise<string> {
  return page.locator('#banner').innerText();
}

/** The texts of the messages on screen, in order. */
export function messageTexts(page: Page): Promise<string[]> {
  return page.locator('#messages .message .text').allTextContents();
}

/** Waits until the page shows exactly `count` messages with this text and none pending. */
export async function waitForMessage(page: Page, text: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    (text) => [...document.querySelectorAll('#messages .message:not(.pending) .text')].some((node) => node.textContent === text),
    text,
    { timeout },
  );
}

export function presenceText(page: Page): Promise<string> {
  return page.locator('#presence').innerText();
}
