import type { IncomingMessage } from 'node:http';

/** Who is on the other end of a request, as established by an Authenticator. */
export interface Principal {
  user: string;
  name?: string;
}

/**
 * The auth seam: turns an upgrade or HTTP request for a room into a principal, or throws a
 * TandemError refusal. Runs before any document byte is sent.
 */
export interface Authenticator {
  authenticate(req: IncomingMessage, room: string): Promise<Principal>;
}

/**
 * No auth configured: everyone may read and write, as with y-websocket. The server warns at start
 * and binds to 127.0.0.1 by default so this is never exposed by accident.
 */
export class OpenAuthenticator implements Authenticator {
  async authenticate(): Promise<Principal> {
    return { user: 'anonymous' };
  }
}
