import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packBrowserPackages, run } from '../../../packages/client/test/pack-packages.js';
import { SECRET, token } from '../../../packages/server/test/support/auth.js';
import { spawnServer, type ChildServer } from '../../../packages/server/test/support/child-server.js';
import { launchChromium, skipWithoutChromium } from '../../../packages/server/test/support/chromium.js';

const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The example as an outside developer has it: its sources, the packed packages from npm, a Vite build. */
function buildFromTarballs(dir: string): string {
  const tarballs = packBrowserPackages(dir);
  const app = join(dir, 'app');
  for (const entry of ['index.html', 'vite.config.ts', 'src']) {
    cpSync(join(EXAMPLE, entry), join(app, entry), { recursive: true });
  }
  const pkg = JSON.parse(readFileSync(join(EXAMPLE, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const name of ['protocol', 'client', 'react'] as const) {
    pkg.dependencies[`@tandem/${name}`] = `file:${tarballs[name]}`;
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify(pkg, null, 2));
  run('npm', ['install', '--no-fund', '--prefer-offline', '--loglevel=error'], app);
  run(join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], app);
  return join(app, 'dist');
}

describe.skipIf(skipWithoutChromium("the example app's browser test"))(
  'the example todo app, from the packed packages',
  () => {
    it(
      'two browsers: nested data, presence, caret, room switch, invalid room, server killed and restarted',
      {
        timeout: 300_000,
      },
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tandem-example-'));
        onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
        const dist = buildFromTarballs(dir);
        // A fixed port and data dir, so the restarted server is the same address with the same rooms.
        const args = [
          ...['--port', String(await freePort()), '--data-dir', join(dir, 'data'), '--static-dir', dist],
          ...['--jwt-secret', SECRET],
        ];
        let server: ChildServer = await spawnServer(args);
        onTestFinished(() => void server.child.kill('SIGKILL'));
        const base = `http://127.0.0.1:${server.port}`;

        const browser: Browser = await launchChromium();
        onTestFinished(() => browser.close());
        const crashes: string[] = [];
        const open = async (query: string, role: 'editor' | 'viewer' = 'editor'): Promise<Page> => {
          const page = await (await browser.newContext()).newPage();
          page.on('pageerror', (error) => crashes.push(error.message));
          const name = new URLSearchParams(query).get('name')!;
          const jwt = await token(name.toLowerCase(), { rooms: { '**': role } });
          await page.goto(`${base}/?${query}&token=${jwt}`);
          return page;
        };
        const field = (page: Page, id: string) => page.getByTestId(id);
        const todos = (page: Page) => field(page, 'todo').allTextContents();

        const ada = await open('room=todos&name=Ada');
        const bob = await open('room=todos&name=Bob');
        for (const page of [ada, bob]) await expect.poll(() => field(page, 'status').textContent()).toBe('live');

        // Nested data (a Y.Array of Y.Maps) both ways, presence, and the saved badge.
        await field(ada, 'new-todo').fill('milk');
        await field(ada, 'new-todo').press('Enter');
        await expect.poll(() => todos(bob)).toEqual(['milk']);
        await bob.getByRole('checkbox').check();
        await expect.poll(() => ada.getByRole('checkbox').isChecked()).toBe(true);
        await expect.poll(() => field(ada, 'others').textContent()).toBe('Bob');
        await expect.poll(() => field(ada, 'save').textContent()).toBe('saved');

        // The caret stays in place when someone types before it.
        await field(ada, 'notes').fill('hello world');
        await expect.poll(() => field(bob, 'notes').inputValue()).toBe('hello world');
        await field(ada, 'notes').evaluate(
          (el: { focus(): void; setSelectionRange(start: number, end: number): void }) => {
            el.focus();
            el.setSelectionRange(5, 5);
          },
        );
        await field(bob, 'notes').focus();
        await bob.keyboard.press('Control+Home');
        await bob.keyboard.type('XX');
        await expect.poll(() => field(ada, 'notes').inputValue()).toBe('XXhello world');
        expect(await field(ada, 'notes').evaluate((el: { selectionStart: number | null }) => el.selectionStart)).toBe(
          7,
        );

        // A room switch is a fresh document: nothing of one room reaches the other.
        await field(bob, 'room').selectOption('groceries');
        await expect.poll(() => field(bob, 'status').textContent()).toBe('live');
        expect(await todos(bob)).toEqual([]);
        await field(bob, 'new-todo').fill('eggs');
        await field(bob, 'new-todo').press('Enter');
        await expect.poll(() => field(bob, 'save').textContent()).toBe('saved');
        expect(await todos(ada)).toEqual(['milk']);
        await field(bob, 'room').selectOption('todos');
        await expect.poll(() => todos(bob)).toEqual(['milk']);

        // A viewer reads, and its own edits stay local: the badge says read-only, nothing reaches the others.
        const vic = await open('room=todos&name=Vic', 'viewer');
        await expect.poll(() => todos(vic)).toEqual(['milk']);
        await expect.poll(() => field(vic, 'save').textContent()).toBe('read-only');
        await field(vic, 'new-todo').fill('from a viewer');
        await field(vic, 'new-todo').press('Enter');
        await expect.poll(() => field(vic, 'error').textContent()).toContain('read_only');
        await field(ada, 'new-todo').fill('tea');
        await field(ada, 'new-todo').press('Enter');
        await expect.poll(() => todos(bob)).toEqual(['milk', 'tea']); // the viewer's item never arrived
        // Where the viewer's local item sits among the others is up to the CRDT (client ids): compare as sets.
        await expect.poll(async () => (await todos(vic)).sort()).toEqual(['from a viewer', 'milk', 'tea']);

        // A name the server would refuse says so instead of retrying forever.
        const bad = await open('room=a/../b&name=Eve');
        await expect.poll(() => field(bad, 'error').textContent()).toContain('invalid_room_name');

        // The server killed -9: an edit made meanwhile waits, and is saved once the server is back.
        server.child.kill('SIGKILL');
        await server.exited;
        await expect.poll(() => field(ada, 'status').textContent()).not.toBe('live');
        await field(ada, 'new-todo').fill('bread');
        await field(ada, 'new-todo').press('Enter');
        await expect.poll(() => field(ada, 'save').textContent()).toBe('unsaved');
        server = await spawnServer(args);
        await expect.poll(() => field(ada, 'save').textContent(), { timeout: 30_000 }).toBe('saved');
        await expect.poll(() => todos(bob), { timeout: 30_000 }).toEqual(['milk', 'tea', 'bread']);

        expect(crashes).toEqual([]);
      },
    );
  },
);
