import type { TandemError } from '../errors.js';
import type { PresenceFeed } from './presence-feed.js';

/**
 * One participant of one room, as the room sees it. The transport implements it; the room never
 * touches sockets, so other transports (HTTP fallback, REST) can join the same way.
 */
export interface Peer {
  /** Process-unique id, for logs. */
  readonly id: number;
  /** True when the peer opted in to Tandem extension frames (ack, error, status, event). */
  readonly tandem: boolean;
  /** The authenticated user id. */
  readonly user: string;
  /** Viewers are read-only: their document updates are dropped, never applied or stored. */
  readOnly: boolean;
  /** Sends an already-encoded frame. Must not throw; a peer that cannot keep up drops itself. */
  send(frame: Uint8Array): void;
  /** Ends the peer's session with a coded reason. */
  fail(error: TandemError): void;
  /**
   * Optional: takes the room's presence as a feed instead of as frames through `send`. A transport
   * that resends what its client missed (the HTTP fallback) catches up from the feed's version rather
   * than keeping every presence frame. `delta` brings a client at `feed.version - 1` to `feed.version`;
   * null (on join) means "catch up from whatever the client has".
   */
  sendPresence?(feed: PresenceFeed, delta: Uint8Array | null): void;
}
