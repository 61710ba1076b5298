import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TandemServer } from '../src/server.js';
import { startTestServer, tempDir } from './support/server.js';

describe('--static-dir (the demo at /)', () => {
  let server: TandemServer | null = null;
  function app(): string {
    const { dir } = tempDir('tandem-static-');
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>demo</title>');
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    return dir;
  }
  const html = { accept: 'text/html,application/xhtml+xml' };

  it('serves the app, its page for app paths, and keeps the API answering JSON', async () => {
    server = await startTestServer({ staticDir: app() });
    const home = await fetch(`${server.httpUrl}/`, { headers: html });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('<title>demo</title>');
    expect(home.headers.get('cache-control')).toBe('no-cache');
    const deepLink = await fetch(`${server.httpUrl}/r/team%2Fnotes/board`, { headers: html });
    expect(deepLink.status).toBe(200);
    expect(await deepLink.text()).toContain('<title>demo</title>');
    const asset = await fetch(`${server.httpUrl}/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const api = await fetch(`${server.httpUrl}/v1/nothing-here`, { headers: html });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
    // A missing file that is not a page is a 404, not the app.
    expect((await fetch(`${server.httpUrl}/assets/missing.js`)).status).toBe(404);
  });

  it('without --static-dir, / is a JSON 404 as before', async () => {
    server = await startTestServer();
    const res = await fetch(`${server.httpUrl}/`, { headers: html });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('refuses to start on a directory without index.html', async () => {
    const { dir } = tempDir('tandem-static-empty-');
    await expect(startTestServer({ staticDir: dir })).rejects.toThrow(/no index.html/);
  });
});
