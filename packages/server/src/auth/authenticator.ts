import type { IncomingMessage } from 'node:http';
import type { Grant } from './room-pattern.js';

/** Who is on the other end of a request, as established by an Authenticator. */
export interface Principal {
  user: string;
  name?: string;
  /** Room roles the credential itself grants (token `rooms` claim); collaborators can add more. */
  grants: Grant[];
  /** When the credential stops being valid (ms since epoch); live sockets are closed then. */
  expiresAt?: number;
}

/**
 * The auth seam: turns a request into a principal, or throws a TandemError (`unauthenticated`).
 * Built-ins: OpenAuthenticator, DevAuthenticator, JwtAuthenticator; embedders pass their own to
 * startServer. Runs before any document byte is sent.
 */
export interface Authenticator {
  /** True when the credential can arrive in a cookie, which makes the Origin check mandatory. */
  readonly usesCookies: boolean;
  /** True when everyone is let in (no auth configured). */
  readonly open: boolean;
  authenticate(req: IncomingMessage): Promise<Principal>;
  /** Verifies a token sent in-band by a connected client to extend its session. */
  verifyToken?(token: string): Promise<Principal>;
}

// One frozen principal for every open connection: idle connections should not each carry a copy.
const ANONYMOUS: Principal = Object.freeze({
  user: 'anonymous',
  grants: Object.freeze([Object.freeze({ pattern: '**', role: 'owner' as const })]),
}) as Principal;

/**
 * No auth configured: everyone may read, write and manage every room, as with y-websocket. The
 * server warns at start and binds to 127.0.0.1 by default so this is never exposed by accident.
 */
export class OpenAuthenticator implements Authenticator {
  readonly usesCookies = false;
  readonly open = true;

  async authenticate(): Promise<Principal> {
    return ANONYMOUS;
  }
}
