import type { IncomingMessage } from 'node:http';
import { TandemError } from '../errors.js';
import type { Authenticator, Principal } from './authenticator.js';
import { queryParams } from './credentials.js';
import { isRole } from './roles.js';

const USER_ID = /^[\w.@:+-]{1,128}$/;

/**
 * `--dev-auth`: trusts `X-User-Id` (or `?user=`) and an optional `X-User-Role` (or `?role=`, default
 * editor) for every room. For demos and tests only; the config refuses it when a JWT secret is set.
 */
export class DevAuthenticator implements Authenticator {
  readonly usesCookies = false;
  readonly open = false;

  async authenticate(req: IncomingMessage): Promise<Principal> {
    const query = queryParams(req);
    const user = header(req, 'x-user-id') ?? query.get('user');
    if (!user) throw new TandemError('unauthenticated', 'dev auth: send X-User-Id or ?user=');
    if (!USER_ID.test(user)) throw new TandemError('unauthenticated', 'dev auth: invalid user id');
    const role = header(req, 'x-user-role') ?? query.get('role') ?? 'editor';
    if (!isRole(role)) throw new TandemError('unauthenticated', 'dev auth: role must be owner, editor or viewer');
    return { user, name: user, grants: [{ pattern: '**', role }] };
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
