import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TandemServer } from '../src/server.js';
import { api, SECRET, token } from './support/auth.js';
import { startTestServer } from './support/server.js';

type Route = [method: string, path: string, body: unknown, needs: 'viewer' | 'editor' | 'owner'];

// Every REST route of docs/api.md, with a body that would be valid.
const routes: Route[] = [
  ['GET', '/v1/rooms/r', undefined, 'viewer'],
  ['DELETE', '/v1/rooms/r', undefined, 'owner'],
  ['GET', '/v1/rooms/r/presence', undefined, 'viewer'],
  ['GET', '/v1/rooms/r/content', undefined, 'viewer'],
  ['PUT', '/v1/rooms/r/content?format=json', { title: 'x' }, 'editor'],
  ['POST', '/v1/rooms/r/text/title/ops', [{ insert: 'x' }], 'editor'],
  ['POST', '/v1/rooms/r/events', { type: 'e' }, 'editor'],
  ['GET', '/v1/rooms/r/events', undefined, 'viewer'],
  ['GET', '/v1/rooms/r/events/stream', undefined, 'viewer'],
  ['POST', '/v1/rooms/r/broadcast', { type: 'e' }, 'editor'],
  ['POST', '/v1/rooms/r/revisions', { label: 'x' }, 'editor'],
  ['GET', '/v1/rooms/r/revisions', undefined, 'viewer'],
  ['GET', '/v1/rooms/r/revisions/1', undefined, 'viewer'],
  ['POST', '/v1/rooms/r/revisions/1/restore', undefined, 'editor'],
  ['GET', '/v1/rooms/r/collaborators', undefined, 'owner'],
  ['GET', '/v1/rooms/r/collaborators/u', undefined, 'owner'],
  ['PUT', '/v1/rooms/r/collaborators/u', { role: 'viewer' }, 'owner'],
  ['DELETE', '/v1/rooms/r/collaborators/u', undefined, 'owner'],
  // The HTTP fallback transport: joining needs what a socket join needs.
  ['GET', `/v1/sync/r/stream?session=${'s'.repeat(32)}`, undefined, 'viewer'],
  ['POST', `/v1/sync/r/messages?session=${'s'.repeat(32)}`, { messages: [] }, 'viewer'],
];

describe('REST auth matrix', () => {
  let server: TandemServer;
  let nobody: string;
  let viewer: string;
  let editor: string;
  beforeAll(async () => {
    server = await startTestServer({ jwtSecret: SECRET, corsOrigin: ['https://app.example'] });
    nobody = await token('nobody', { rooms: { 'elsewhere/*': 'owner' } });
    viewer = await token('vic', { rooms: { r: 'viewer' } });
    editor = await token('eddie', { rooms: { r: 'editor' } });
  });
  afterAll(async () => {
    await server.drain();
  });

  it.each(routes)(
    '%s %s: 401 without a token, 403 without a role, 403 below its role',
    async (method, path, body, needs) => {
      const noToken = await api(server.httpUrl, method, path, { body });
      expect(noToken).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
      const forged = await api(server.httpUrl, method, path, { body, token: `${editor}x` });
      expect(forged.status).toBe(401);
      const noRole = await api(server.httpUrl, method, path, { body, token: nobody });
      expect(noRole).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
      if (needs !== 'viewer') {
        const below = await api(server.httpUrl, method, path, { body, token: needs === 'owner' ? editor : viewer });
        expect(below).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
      }
    },
  );

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
