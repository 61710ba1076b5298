import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../packages/server/src/ops/config.js';
import { startServer, type TandemServer } from '../../../packages/server/src/server.js';
import { launchChromium, skipWithoutChromium } from '../../../packages/server/test/support/chromium.js';

const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/demo', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

describe.skipIf(skipWithoutChromium("the demo's browser tests"))('demo app in a real browser', () => {
  let server: TandemServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Console errors and uncaught exceptions of every page; a test may allow the network errors it causes. */
  let problems: string[] = [];
  let allowed: RegExp[] = [];
  let room = '';
  let nextRoom = 0;

  beforeAll(async () => {
    if (!existsSync(`${DIST}/index.html`)) throw new Error('apps/demo/dist is missing: scripts/test.mjs builds it');
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer(parseConfig({ port: 0, store: 'memory', staticDir: DIST, unloadDelayMs: 1_000 }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.drain();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
    const unexpected = problems.filter((p) => !allowed.some((re) => re.test(p)));
    problems = [];
    allowed = [];
    expect(unexpected).toEqual([]);
  });

  async function openAs(
    name: string,
    path: string,
    viewport = DESKTOP,
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    await context.addInitScript((n) => localStorage.setItem('tandem.demo.name', n), name);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${name}: console: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
    await page.goto(`${server.httpUrl}${path}`);
    return { page, context };
  }
  const newRoom = (): string => (room = `demo-${Date.now().toString(36)}-${++nextRoom}`);
  const status = (page: Page) => page.getByTestId('connection');
  const save = (page: Page) => page.getByTestId('save');
  const editor = (page: Page) => page.locator('.cm-content');
  const waitLive = async (page: Page) => expect.poll(() => status(page).getAttribute('data-status')).toBe('live');
  const typeInto = async (page: Page, text: string) => {
    await editor(page).click();
    await page.keyboard.press('ControlOrMeta+End');
    await page.keyboard.type(text);
  };
  /** The editor's text as the user reads it: without remote carets and their name labels. */
  const editorText = (page: Page) =>
    editor(page).evaluate((el) => {
      const copy = el.cloneNode(true) as HTMLElement;
      copy.querySelectorAll('.cm-ySelectionCaret').forEach((caret) => caret.remove());
      return Array.from(copy.querySelectorAll('.cm-line'), (line) =>
        (line.textContent ?? '').replace(/\u2060/g, ''),
      ).join('\n');
    });

  it('home, editor and board render at desktop and phone sizes (screenshots)', async () => {
    for (const [label, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      const { page } = await openAs('Shot', '/', viewport);
      await expect.poll(() => page.getByRole('button', { name: /create a room/i }).isVisible()).toBe(true);
      await page.screenshot({ path: `${ARTIFACTS}/home-${label}.png`, fullPage: true });
      await page.getByLabel('Room').fill(newRoom());
      await page.getByRole('button', { name: /open room/i }).click();
      await expect.poll(() => page.url()).toContain(`/r/${room}`);
      await waitLive(page);
      await typeInto(page, `Hello from the ${label} screenshot`);
      await expect.poll(() => save(page).getAttribute('data-save')).toBe('saved');
      await page.screenshot({ path: `${ARTIFACTS}/editor-${label}.png` });
      await page.getByRole('link', { name: 'Board' }).click();
      await expect.poll(() => page.url()).toContain('/board');
      await page.getByRole('button', { name: 'Add node' }).click();
      await expect.poll(() => page.locator('.react-flow__node').count()).toBe(1);
      await page.screenshot({ path: `${ARTIFACTS}/board-${label}.png` });
      // Nothing wider than the viewport: the layout fits the phone too.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    }
  });

  it('two people in one room: text, a named remote cursor, and board nodes that appear and move', async () => {
    const path = `/r/${newRoom()}`;
    const ada = await openAs('Ada', path);
    const bob = await openAs('Bob', path);
    await waitLive(ada.page);
    await waitLive(bob.page);
    await typeInto(ada.page, 'Typed by Ada');
    await expect.poll(() => editorText(bob.page)).toContain('Typed by Ada');
    await typeInto(bob.page, ' and Bob');
    await expect.poll(() => editorText(ada.page)).toContain('Typed by Ada and Bob');
    // Bob's cursor, labelled with his name, in Ada's editor; and his line:column in her list.
    await expect.poll(() => ada.page.locator('.cm-ySelectionInfo').allInnerTexts()).toContain('Bob');
    await expect.poll(() => ada.page.locator('.cm-ySelectionInfo').first().isVisible()).toBe(true);
    await expect.poll(() => ada.page.getByTestId('cursors').innerText()).toMatch(/Bob\s+Ln 1, Col \d+/);
    await expect.poll(() => ada.page.getByTestId('presence').locator('[data-name="Bob"]').count()).toBe(1);

    await ada.page.getByRole('link', { name: 'Board' }).click();
    await bob.page.getByRole('link', { name: 'Board' }).click();
    await ada.page.getByRole('button', { name: 'Add node' }).click();
    const adaNode = ada.page.locator('.react-flow__node').first();
    const bobNode = bob.page.locator('.react-flow__node').first();
    await expect.poll(() => bob.page.locator('.react-flow__node').count()).toBe(1);
    const before = await bobNode.evaluate((el) => (el as HTMLElement).style.transform);
    const box = (await adaNode.boundingBox())!;
    await ada.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await ada.page.mouse.down();
    for (let i = 1; i <= 10; i++)
      await ada.page.mouse.move(box.x + box.width / 2 + i * 15, box.y + box.height / 2 + i * 8);
    await ada.page.mouse.up();
    await expect.poll(() => bobNode.evaluate((el) => (el as HTMLElement).style.transform)).not.toBe(before);
    await expect
      .poll(() => bobNode.evaluate((el) => (el as HTMLElement).style.transform))
      .toBe(await adaNode.evaluate((el) => (el as HTMLElement).style.transform));
    // Ada's pointer, with her name, on Bob's board.
    await expect.poll(() => bob.page.getByTestId('remote-pointer').allInnerTexts()).toContain('Ada');
  });

  it('offline edits: Offline and Unsaved while cut off, then the text arrives and the badge says Live and Saved', async () => {
    const path = `/r/${newRoom()}`;
    const ada = await openAs('Ada', path);
    const bob = await openAs('Bob', path);
    await waitLive(ada.page);
    await waitLive(bob.page);
    allowed = [/net::ERR_INTERNET_DISCONNECTED/, /WebSocket connection to .* failed/];
    await bob.context.setOffline(true);
    await expect.poll(() => status(bob.page).getAttribute('data-status')).toBe('offline');
    await typeInto(bob.page, 'written offline');
    await expect.poll(() => save(bob.page).getAttribute('data-save')).toBe('unsaved');
    expect(await save(bob.page).innerText()).toMatch(/Unsaved \(\d+\)/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await editorText(ada.page)).not.toContain('written offline');
    await bob.context.setOffline(false);
    await waitLive(bob.page);
    await expect.poll(() => save(bob.page).getAttribute('data-save')).toBe('saved');
    await expect.poll(() => editorText(ada.page)).toContain('written offline');
  });

  it('WebSocket blocked: the badge says Fallback and edits flow both ways', async () => {
    const path = `/r/${newRoom()}`;
    const ada = await openAs('Ada', path);
    await waitLive(ada.page);
    const context = await browser.newContext({ viewport: DESKTOP });
    contexts.push(context);
    // Every WebSocket of this context is answered by a "proxy" that cuts it at once.
    await context.routeWebSocket(/\/v1\/sync\//, (ws) => void ws.close({ code: 1011, reason: 'blocked by proxy' }));
    await context.addInitScript(() => localStorage.setItem('tandem.demo.name', 'Carol'));
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`Carol: console: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`Carol: page error: ${err.message}`));
    await page.goto(`${server.httpUrl}${path}`);
    await expect.poll(() => status(page).getAttribute('data-status'), { timeout: 20_000 }).toBe('fallback');
    expect(await status(page).innerText()).toContain('Fallback');
    await typeInto(page, 'over HTTP');
    await expect.poll(() => editorText(ada.page)).toContain('over HTTP');
    await typeInto(ada.page, ' and back');
    await expect.poll(() => editorText(page)).toContain('over HTTP and back');
    await expect.poll(() => save(page).getAttribute('data-save')).toBe('saved');
  });

  it('restoring a revision from the history panel shows the restored text in both browsers', async () => {
    const path = `/r/${newRoom()}`;
    const ada = await openAs('Ada', path);
    const bob = await openAs('Bob', path);
    await waitLive(ada.page);
    await waitLive(bob.page);
    await typeInto(ada.page, 'first draft');
    await expect.poll(() => save(ada.page).getAttribute('data-save')).toBe('saved');
    await ada.page.getByRole('tab', { name: 'History' }).click();
    await ada.page.getByLabel('Version name').fill('Draft one');
    await ada.page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => ada.page.getByTestId('revisions').innerText()).toContain('Draft one');
    await typeInto(ada.page, ' — then rewritten');
    await expect.poll(() => editorText(bob.page)).toContain('first draft — then rewritten');
    const row = ada.page.getByTestId('revisions').locator('li', { hasText: 'Draft one' });
    await row.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => row.locator('.preview').innerText()).toBe('first draft');
    await row.getByRole('button', { name: 'Restore' }).click();
    await expect.poll(() => editorText(ada.page)).toBe('first draft');
    await expect.poll(() => editorText(bob.page)).toBe('first draft');
  });
});
