import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/authenticator.js';
import type { Role } from '../auth/roles.js';
import type { App, HttpDeps } from './http-deps.js';
import { authenticate, authorize } from './request-access.js';

/**
 * Who may call a route, declared on it (`config: { access }`) and enforced by one preHandler, so no
 * route can forget its check:
 * - a role (`viewer`, `editor`, `owner`): at least that role in the route's `:room`; `editor` routes
 *   are writes and also take the caller's REST write budget;
 * - `authenticated`: any caller with a valid credential (the room listing filters by it);
 * - `session`: the HTTP transport, which authenticates in the route and answers refusals with their
 *   close code (the session checks the role when it starts);
 * - `public`: anyone (the OpenAPI document).
 */
export type RouteAccess = Role | 'authenticated' | 'session' | 'public';

/** The caller as the preHandler established it. `role` is set on routes that declare one. */
export interface Caller {
  principal: Principal;
  role: Role | null;
}

/** The caller of a route that declares a room role: who, and their role in the room. */
export interface RoomCaller {
  principal: Principal;
  role: Role;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

const DESCRIBED: Record<RouteAccess, string> = {
  viewer: 'Access: any role in the room (viewer, editor or owner).',
  editor: 'Access: editor or owner in the room; counts against the caller’s REST write budget.',
  owner: 'Access: owner of the room.',
  authenticated: 'Access: any authenticated caller.',
  session: 'Access: authenticated; the session needs a role in the room (viewer or above) when it starts.',
  public: 'Access: public.',
};

/**
 * Registers the access check: every `/v1/` route must declare its access (refused at startup
 * otherwise), the OpenAPI description says it, and a preHandler enforces it before the handler runs.
 */
export function enforceDeclaredAccess(
  app: App,
  deps: Pick<HttpDeps, 'authenticator' | 'config' | 'access' | 'writeLimiter'>,
): void {
  app.decorateRequest('caller', null);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    const access = route.config?.access;
    if (access === undefined) {
      throw new Error(`${String(route.method)} ${route.url} declares no access (config.access)`);
    }
    // A GET's schema is shared with the HEAD route Fastify adds for it: described once.
    const description = route.schema?.description as string | undefined;
    if (route.schema && !route.schema.hide && !description?.includes(DESCRIBED[access])) {
      route.schema.description = description ? `${description}\n\n${DESCRIBED[access]}` : DESCRIBED[access];
    }
  });
  app.addHook('preHandler', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public' || access === 'session') return;
    if (access === 'authenticated') {
      request.caller = { principal: await authenticate(request, deps), role: null };
      return;
    }
    const room = (request.params as { room?: string }).room;
    if (room === undefined) throw new Error(`${request.routeOptions.url} declares a room role but has no :room`);
    const { principal, role } = await authorize(request, deps, room, access);
    if (access === 'editor') deps.writeLimiter.take(principal.user);
    request.caller = { principal, role };
  });
}

/** The caller of a route that declares a room role (set by the preHandler). */
export function roomCaller(request: FastifyRequest): RoomCaller {
  const caller = request.caller;
  if (!caller?.role) throw new Error(`${request.routeOptions.url} declares no room role`);
  return { principal: caller.principal, role: caller.role };
}

/** The caller of a route that declares `authenticated` or a role. */
export function callerOf(request: FastifyRequest): Principal {
  if (!request.caller) throw new Error(`${request.routeOptions.url} declares no authenticated access`);
  return request.caller.principal;
}
