import { parse as parseCookies } from 'cookie';
import type { IncomingMessage } from 'node:http';

import { TOKEN_SUBPROTOCOL_PREFIX } from '@tandem/protocol';

export interface FoundToken {
  token: string;
  source: 'query' | 'header' | 'subprotocol' | 'cookie';
}

/**
 * Finds the credential in a request, in order: `?token=`, `Authorization: Bearer`, a
 * `tandem.token.<jwt>` subprotocol, then the configured cookie.
 */
export function findToken(req: IncomingMessage, cookieName: string | undefined): FoundToken | null {
  const query = queryParams(req).get('token');
  if (query) return { token: query, source: 'query' };
  const auth = req.headers.authorization;
  if (auth) {
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    if (match) return { token: match[1]!, source: 'header' };
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols) {
    for (const p of protocols.split(',')) {
      const trimmed = p.trim();
      if (trimmed.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) {
        return { token: trimmed.slice(TOKEN_SUBPROTOCOL_PREFIX.length), source: 'subprotocol' };
      }
    }
  }
  if (cookieName && req.headers.cookie) {
    const value = parseCookies(req.headers.cookie)[cookieName];
    if (value) return { token: value, source: 'cookie' };
  }
  return null;
}

export function queryParams(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}
