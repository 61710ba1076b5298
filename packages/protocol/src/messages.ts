import type { ReceivedErrorCode } from './error-codes.js';
/** Decoded form of every message on the wire. Byte payloads are views into the frame. */
export type Message =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'auth-denied'; reason: string }
  | { type: 'query-awareness' }
  | { type: 'hello'; hello: Hello }
  | { type: 'ack'; seq: number }
  | { type: 'event'; event: EventEnvelope }
  | { type: 'error'; code: ReceivedErrorCode; message: string }
  | { type: 'status'; status: RoomStatus }
  | { type: 'token'; token: string }
  | { type: 'publish'; publish: PublishRequest }
  | { type: 'published'; published: PublishResult }
  | { type: 'ping' }
  | { type: 'pong' };

/** An app event a client publishes over the socket; `ref` matches the answer to the request. */
export interface PublishRequest {
  /** Chosen by the client (1-64 chars), echoed in the answer. */
  ref: string;
  type: string;
  data?: unknown;
  /** Same key from the same user in a room stores one event (a resend after a reconnect is safe). */
  idempotencyKey?: string;
}

/** The answer to a publish: the stored event, or why it was refused (the socket stays open). */
export type PublishResult =
  { ref: string; event: EventEnvelope } | { ref: string; error: { code: ReceivedErrorCode; message: string } };

/** Sent by a Tandem client right after connecting. */
export interface Hello {
  /** Stable id of the client install/tab, for logs and resume. */
  clientId?: string;
  /** Optional features the client understands, e.g. "ack", "event". */
  capabilities?: string[];
}

/** The one event envelope used on every transport. `id` is server-assigned, monotonic per room. */
export interface EventEnvelope {
  id: string;
  type: string;
  room: string;
  ts: number;
  user: string | null;
  data: unknown;
}

/** Room information the server sends a Tandem client on join. */
export interface RoomStatus {
  room: string;
  /** Server wall clock in ms since epoch, so clients can estimate skew. */
  serverTime: number;
  /** Peers connected to the room on this instance, including the receiver. */
  peers: number;
  readOnly: boolean;
}
