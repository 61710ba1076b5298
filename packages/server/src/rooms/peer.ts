import type { TandemError } from '../errors.js';

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
}
