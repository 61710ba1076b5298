import { TANDEM_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '@tandem/protocol';
import { HttpSocket } from './http-socket.js';
import type { WebSocketConstructor, WebSocketLike } from './websocket-like.js';

/** RFC 7230 token characters: what a Sec-WebSocket-Protocol value may hold. */
const SUBPROTOCOL_VALUE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Where one room's connections go, and how the HTTP transport behaves. */
export interface RoomAddress {
  url: string;
  room: string;
  params?: Record<string, string>;
  httpUrl?: string;
  WebSocketImpl: WebSocketConstructor;
  fetch?: typeof fetch;
  fallback: { pollIntervalMs: number; streamOpenTimeoutMs: number };
}

/** Base URL of the REST API (for event catch-up and the HTTP transport). */
export function httpBase(address: RoomAddress): string {
  const derived = address.httpUrl ?? address.url.replace(/^ws/, 'http').replace(/\/v1\/sync\/*$/, '');
  return derived.replace(/\/+$/, '');
}

/**
 * A WebSocket to the room. The token rides in a subprotocol entry, never in the URL, where a refused
 * socket's console line, proxy logs and history would show it. Only a token that is not a valid
 * subprotocol value (JWTs always are) goes in the query instead.
 */
export function openWebSocket(address: RoomAddress, token: string | undefined): WebSocketLike {
  const inProtocol = token !== undefined && SUBPROTOCOL_VALUE.test(token);
  const protocols = inProtocol ? [TANDEM_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token] : [TANDEM_SUBPROTOCOL];
  const params = new URLSearchParams(address.params ?? {});
  if (token !== undefined && !inProtocol) params.set('token', token);
  const query = params.toString();
  const url = `${address.url.replace(/\/+$/, '')}/${address.room}${query ? `?${query}` : ''}`;
  const ws = new address.WebSocketImpl(url, protocols);
  ws.binaryType = 'arraybuffer';
  return ws;
}

/** An HTTP transport session to the room; `token` is read per request (refreshes apply at once). */
export function openHttpSocket(
  address: RoomAddress,
  session: { token: () => string | undefined; poll: boolean },
): HttpSocket {
  return new HttpSocket({
    httpUrl: httpBase(address),
    room: address.room,
    params: address.params ?? {},
    token: session.token,
    pollIntervalMs: address.fallback.pollIntervalMs,
    streamOpenTimeoutMs: address.fallback.streamOpenTimeoutMs,
    heartbeatMs: 10_000,
    poll: session.poll,
    fetch: address.fetch,
  });
}
