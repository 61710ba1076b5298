import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App, HttpDeps } from '../src/http/http-deps.js';
import { enforceDeclaredAccess } from '../src/http/route-access.js';
import type { TandemServer } from '../src/server.js';
import { api, SECRET, token } from './support/auth.js';
import { startTestServer } from './support/server.js';

type Needs = 'viewer' | 'editor' | 'owner' | 'authenticated';

/** What each route's declared access says in the OpenAPI document (see src/http/route-access.ts). */
const NEEDS: [prefix: string, needs: Needs][] = [
  ['Access: any role in the room', 'viewer'],
  ['Access: editor or owner in the room', 'editor'],
  ['Access: owner of the room', 'owner'],
  ['Access: any authenticated caller', 'authenticated'],
  // The HTTP transport: joining needs what a socket join needs.
  ['Access: authenticated; the session needs a role in the room', 'viewer'],
];

/** A request each route would accept from a caller with its role: the parts the path alone lacks. */
const EXAMPLES: Record<string, { query?: string; body?: unknown }> = {
  'PUT /v1/rooms/{room}/content': { query: '?format=json', body: { title: 'x' } },
  'POST /v1/rooms/{room}/text/{field}/ops': { body: [{ insert: 'x' }] },
  'POST /v1/rooms/{room}/events': { body: { type: 'e' } },
  'POST /v1/rooms/{room}/broadcast': { body: { type: 'e' } },
  'POST /v1/rooms/{room}/revisions': { body: { label: 'x' } },
  'PUT /v1/rooms/{room}/collaborators/{user}': { body: { role: 'viewer' } },
  'GET /v1/sync/{room}/stream': { query: `?session=${'s'.repeat(32)}` },
  'POST /v1/sync/{room}/messages': { query: `?session=${'s'.repeat(32)}`, body: { messages: [] } },
};
const PARAMS: Record<string, string> = { room: 'r', user: 'u', id: '1', field: 'title' };

interface Route {
  method: string;
  path: string;
  needs: Needs;
  body: unknown;
}

/** Every route of the server's OpenAPI document, with the access it declares. */
async function declaredRoutes(httpUrl: string): Promise<Route[]> {
  const spec = (await (await fetch(`${httpUrl}/v1/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { description?: string }>>;
  };
  const routes: Route[] = [];
  for (const [template, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const key = `${method.toUpperCase()} ${template}`;
      const needs = NEEDS.find(([prefix]) => operation.description?.includes(prefix))?.[1];
      if (!needs) throw new Error(`${key} says no access it needs`);
      const example = EXAMPLES[key] ?? {};
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => PARAMS[name] ?? name) + (example.query ?? '');
      routes.push({ method: method.toUpperCase(), path, needs, body: example.body });
    }
  }
  return routes;
}

describe('REST auth matrix, from the routes the server declares', () => {
  let server: TandemServer;
  let routes: Route[];
  let nobody: string;
  let viewer: string;
  let editor: string;
  beforeAll(async () => {
    server = await startTestServer({ jwtSecret: SECRET, corsOrigin: ['https://app.example'] });
    routes = await declaredRoutes(server.httpUrl);
    nobody = await token('nobody', { rooms: { 'elsewhere/*': 'owner' } });
    viewer = await token('vic', { rooms: { r: 'viewer' } });
    editor = await token('eddie', { rooms: { r: 'editor' } });
  });
  afterAll(async () => {
    await server.drain();
  });

  it('covers every route, and every example names one', () => {
    // Each route family of docs/api.md is here; a new route shows up without editing this test.
    expect(routes.length).toBeGreaterThanOrEqual(21);
    const keys = new Set(routes.map((r) => `${r.method} ${r.path.split('?')[0]}`));
    for (const key of Object.keys(EXAMPLES)) {
      const [method, template] = key.split(' ') as [string, string];
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => PARAMS[name] ?? name);
      expect(keys.has(`${method} ${path}`), key).toBe(true);
    }
  });

  it('every route: 401 without a token or with a forged one, 403 without a role, 403 below its role', async () => {
    for (const { method, path, body, needs } of routes) {
      const label = `${method} ${path} (${needs})`;
      const noToken = await api(server.httpUrl, method, path, { body });
      expect(noToken, label).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
      const forged = await api(server.httpUrl, method, path, { body, token: `${editor}x` });
      expect(forged.status, label).toBe(401);
      if (needs === 'authenticated') continue;
      const noRole = await api(server.httpUrl, method, path, { body, token: nobody });
      expect(noRole, label).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
      if (needs !== 'viewer') {
        const below = await api(server.httpUrl, method, path, { body, token: needs === 'owner' ? editor : viewer });
        expect(below, label).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
      }
    }
  });

  it('a /v1/ route that declares no access is refused as it is added; others need none', async () => {
    const app = Fastify();
    enforceDeclaredAccess(app as unknown as App, {} as HttpDeps);
    expect(() => app.get('/v1/rooms/:room/anything', async () => 'x')).toThrow(/declares no access/);
    expect(() => app.get('/v1/rooms/:room/declared', { config: { access: 'viewer' } }, async () => 'x')).not.toThrow();
    expect(() => app.get('/healthz-like', async () => 'x')).not.toThrow();
    await app.close();
  });

  it('answers CORS preflights for configured origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.httpUrl}/v1/rooms/r/content`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization' },
      });
    const ok = await preflight('https://app.example');
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
