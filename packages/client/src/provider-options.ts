import type { ReceivedErrorCode } from '@tandem/protocol';
import type * as awarenessProtocol from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { ConnectionStatus, FallbackOptions, TokenSource, Transport } from './connection.js';
import type { ReconnectOptions } from './reconnect-policy.js';
import type { SaveState } from './save-tracker.js';
import type { WebSocketConstructor } from './websocket-like.js';

/* The provider's public types: its options, events, errors and diagnostics. */

export const defaultFallbackOptions: FallbackOptions = {
  enabled: true,
  afterFailures: 2,
  pollIntervalMs: 3_000,
  streamOpenTimeoutMs: 5_000,
  probeBaseMs: 5_000,
  probeMaxMs: 60_000,
};

export interface TandemProviderOptions {
  /** The sync endpoint, e.g. `ws://localhost:1234/v1/sync`; the room is appended as a path segment. */
  url: string;
  room: string;
  /** The document to sync; omit it (or pass null) for an events-and-presence room. */
  doc?: Y.Doc | null;
  token?: TokenSource;
  awareness?: awarenessProtocol.Awareness;
  /** Extra query parameters. */
  params?: Record<string, string>;
  /** Connect at once (default true). */
  connect?: boolean;
  /** For Node (the `ws` package) or tests; defaults to the global WebSocket. */
  WebSocketPolyfill?: WebSocketConstructor;
  reconnect?: Partial<ReconnectOptions>;
  /** Ask before closing the tab while changes are not saved (browsers only). */
  warnBeforeUnload?: boolean;
  /** Source of randomness for the reconnect jitter (tests pass a seeded one). */
  random?: () => number;
  /** Base URL of the REST API for event catch-up; derived from `url` (`ws://h/v1/sync` → `http://h`). */
  httpUrl?: string;
  /** How often a live socket is checked with a ping (default 20 s; 0 = never). See checkAlive. */
  pingIntervalMs?: number;
  /**
   * How long a new connection may stay silent before the attempt counts as failed (ms, default 15000;
   * 0: wait forever). A server that accepts and never speaks would otherwise hold `connecting`.
   */
  handshakeTimeoutMs?: number;
  /** Most presence states kept from the server (default 10000); more are dropped, newest first. */
  maxPresenceStates?: number;
  /** When and how to fall back to the HTTP transport where WebSocket is blocked. */
  fallback?: Partial<FallbackOptions>;
  /** For the HTTP transport and event catch-up; defaults to the global fetch. */
  fetch?: typeof fetch;
  /**
   * Local persistence of the document, e.g. `new IndexeddbPersistence(room, doc)` from y-indexeddb, so
   * edits survive a reload while offline. Until its `whenSynced` resolves, the save state is not `saved`:
   * edits from before the reload may still be on their way from it. What it loads is sent like any
   * local change and saved once acknowledged.
   */
  localPersistence?: { whenSynced: Promise<unknown> };
}

/**
 * Codes the provider raises itself, beside the server's (`ErrorCode` of @tandem/protocol):
 * `token_failed` (the token callback threw), `invalid_message` (a frame that does not decode),
 * `permission_denied` (a stock server's auth message), `handshake_timeout` (no answer in time),
 * `presence_limit` (others' presence states past `maxPresenceStates` were dropped),
 * `invalid_transition` (a status change the connection refused: a bug in the client).
 */
export type ClientErrorCode =
  | 'token_failed'
  | 'invalid_message'
  | 'permission_denied'
  | 'handshake_timeout'
  | 'presence_limit'
  | 'invalid_transition';

/** An error the provider reports: a server's coded refusal or one of its own. */
export interface ProviderError {
  code: ReceivedErrorCode | ClientErrorCode;
  message: string;
}

export interface TandemProviderEvents {
  status: (status: ConnectionStatus) => void;
  save: (state: { state: SaveState; pendingUpdates: number }) => void;
  synced: (synced: boolean) => void;
  /** An error frame from the server (`read_only`, a refusal's reason before the close, …). */
  error: (error: ProviderError) => void;
  /** The connection now goes over this transport. */
  transport: (transport: Transport) => void;
}

export interface Diagnostics {
  status: ConnectionStatus;
  transport: Transport;
  /** WebSocket attempts in a row that never opened. */
  websocketFailures: number;
  reconnects: number;
  lastClose: { code: number; reason: string } | null;
  lastError: ProviderError | null;
  /** Time from sending a change to its durable ack, of the latest ack (ms). */
  lastAckMs: number | null;
  pendingUpdates: number;
}
