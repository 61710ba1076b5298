import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/authenticator.js';
import type { Role } from '../auth/roles.js';
import { TandemError } from '../errors.js';
import type { RoomInfo } from '../storage/store.js';
import { originAllowed } from '../transport/origin.js';
import type { HttpDeps } from './http-deps.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Establishes the caller for a REST request. With cookie auth, writes must also come from an allowed
 * Origin (CSRF), exactly like cookie-authenticated WebSockets.
 */
export async function authenticate(
  request: FastifyRequest,
  deps: Pick<HttpDeps, 'authenticator' | 'config'>,
): Promise<Principal> {
  if (deps.authenticator.usesCookies && !SAFE_METHODS.has(request.method)) {
    if (!originAllowed(request.raw, deps.config.corsOrigin)) {
      throw new TandemError('origin_not_allowed', 'this Origin may not make cookie-authenticated changes');
    }
  }
  return deps.authenticator.authenticate(request.raw);
}

/** Authenticates, then requires at least `needed` in `room`: always before anything about the room is read. */
export async function authorize(
  request: FastifyRequest,
  deps: Pick<HttpDeps, 'authenticator' | 'config' | 'access'>,
  room: string,
  needed: Role,
): Promise<{ principal: Principal; role: Role }> {
  const principal = await authenticate(request, deps);
  return { principal, role: await deps.access.require(principal, room, needed) };
}

/** The room's stored info; a room loaded but never written counts too. 404 otherwise. */
export async function requireRoom(deps: Pick<HttpDeps, 'store' | 'registry'>, room: string): Promise<RoomInfo> {
  const info = await deps.store.getRoomInfo(room);
  if (info) return info;
  if (deps.registry.get(room)) return { name: room, createdAt: Date.now(), updatedAt: Date.now(), lastSeq: 0 };
  throw new TandemError('room_not_found', `room "${room}" does not exist`);
}
