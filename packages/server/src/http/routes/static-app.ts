import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { App } from '../http-deps.js';

/** Paths that belong to the server; never answered with the app's page. */
const API_PATH = /^\/(v1|healthz|readyz|metrics)(\/|$)/;

/**
 * Serves a built single-page app (the demo) at `/`: its files, and its index.html for any other GET
 * of a page (`/r/<room>`), so shared links open straight into the app. Hashed assets are cached for
 * good; the page itself never is, so a rebuilt app is picked up on reload.
 */
export async function staticAppRoutes(app: App, dir: string): Promise<void> {
  const root = resolve(dir);
  if (!existsSync(resolve(root, 'index.html'))) {
    throw new Error(`--static-dir ${dir}: no index.html there (build the app first)`);
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: true,
    // Our own cache-control below; the plugin's would overwrite it.
    cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

/** Whether a request that matched no route should get the app's page instead of a 404. */
export function wantsAppPage(method: string, url: string, accept: string | undefined): boolean {
  const path = url.split('?', 1)[0]!;
  return method === 'GET' && !API_PATH.test(path) && (accept ?? '').includes('text/html');
}
