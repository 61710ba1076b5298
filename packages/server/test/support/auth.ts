import { signToken, type TokenRequest } from '../../src/auth/sign-token.js';

export const SECRET = 'test-secret-that-is-long-enough-0123456789';

/** An HS256 token for tests; defaults to editor on every room, valid for an hour. */
export function token(user: string, overrides: Partial<TokenRequest> = {}): Promise<string> {
  return signToken({ secret: SECRET, user, rooms: { '**': 'editor' }, ttl: '1h', ...overrides });
}

/** Dev-auth request headers (`--dev-auth`): the identity and its role on every room. */
export const devUser = (user: string, role = 'editor'): Record<string, string> => ({
  'x-user-id': user,
  'x-user-role': role,
});

/** JSON fetch against the test server. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}
