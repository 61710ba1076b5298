import type { IncomingMessage } from 'node:http';
import type * as Y from 'yjs';
import type { Principal } from '../auth/authenticator.js';
import type { EventEnvelope } from '../events/event-service.js';

/**
 * What `onLoadDocument` may answer for a room that is not in the store yet: Yjs bytes (or base64 of
 * them), plain text for one `Y.Text`, or JSON imported as with `PUT …/content?format=json`.
 */
export type InitialContent =
  Uint8Array | { yjs: Uint8Array | string } | { text: string; field?: string } | { json: Record<string, unknown> };

export type TransportName = 'websocket' | 'http';

export interface ConnectionInfo {
  room: string;
  user: string;
  principal: Principal;
  readOnly: boolean;
  transport: TransportName;
}

/**
 * Hooks an embedder passes to `startServer(config, { extensions: [...] })`. Every hook is optional and
 * may be async; all are awaited, in the order of the list. See docs/extensions.md for when each runs
 * and what a throw does.
 */
export interface Extension {
  /** For logs. */
  name?: string;
  /**
   * After the authenticator accepted a request (socket upgrade, HTTP session or REST call) or a token
   * an open socket sent to extend its session (then `request` is null): return a principal to replace
   * it (a display name, extra grants), or throw to refuse (at a refresh, the socket is closed).
   */
  onAuthenticate?(payload: {
    request: IncomingMessage | null;
    principal: Principal;
  }): Principal | void | Promise<Principal | void>;
  /** Before a peer joins its room (after auth and the role check); a throw refuses that peer only. */
  onConnect?(payload: ConnectionInfo): void | Promise<void>;
  /** After a peer that joined has left. */
  onDisconnect?(payload: ConnectionInfo): void | Promise<void>;
  /**
   * A room that was never stored is being created: its initial content, or null/undefined for empty.
   * The first extension that answers wins; what it answers is stored before anyone joins. A throw
   * refuses the room's peers (1013) and stores nothing; the next join tries again.
   */
  onLoadDocument?(payload: {
    room: string;
  }): InitialContent | null | undefined | Promise<InitialContent | null | undefined>;
  /**
   * A peer's update, after the read-only, validity and size checks, before it is applied anywhere.
   * Throw to reject it: the sender gets an `update_rejected` error and is closed (its copy now differs).
   * `preview()` is the room's document with the update applied, built on first call.
   */
  beforeApplyUpdate?(payload: {
    room: string;
    user: string;
    update: Uint8Array;
    preview: () => Y.Doc;
  }): void | Promise<void>;
  /** The room's document changed (debounced per room); `read` runs `fn` on the loaded document. */
  onChange?(payload: { room: string; read: <T>(fn: (doc: Y.Doc) => T) => Promise<T> }): void | Promise<void>;
  /** Updates of the room up to `seq` are durable in the store. */
  afterStore?(payload: { room: string; seq: number }): void | Promise<void>;
  /**
   * An app event from a socket or REST, after its own checks: return `{ type?, data? }` to change it,
   * or throw to reject it (`event_rejected` with the message).
   */
  beforeEvent?(payload: {
    room: string;
    user: string | null;
    type: string;
    data: unknown;
  }): { type?: string; data?: unknown } | void | Promise<{ type?: string; data?: unknown } | void>;
  /** Any event of any room (app and `collab.*`) once it is stored and sent. */
  onEvent?(payload: { event: EventEnvelope }): void | Promise<void>;
}
