import type { EventEnvelope } from '@tandem/client';
import type { Identity } from './identity.js';

/** The REST API of the server that served this page. */
export interface Revision {
  id: number;
  label: string;
  ts: number;
  user: string | null;
  size: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A token when one is set; otherwise the dev-auth identity header (ignored by an open server). */
export function authHeaders(identity: Identity): Record<string, string> {
  return identity.token ? { authorization: `Bearer ${identity.token}` } : { 'x-user-id': identity.id };
}

async function call<T>(identity: Identity, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...authHeaders(identity), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const failure = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    throw new ApiError(
      res.status,
      failure?.error?.code ?? 'http_error',
      failure?.error?.message ?? `HTTP ${res.status}`,
    );
  }
  return (await res.json()) as T;
}

const roomUrl = (room: string): string => `/v1/rooms/${encodeURIComponent(room)}`;

export const api = {
  postEvent: (identity: Identity, room: string, type: string, data: unknown) =>
    call<{ event: EventEnvelope }>(identity, 'POST', `${roomUrl(room)}/events`, { type, data }),
  revisions: (identity: Identity, room: string) =>
    call<{ revisions: Revision[] }>(identity, 'GET', `${roomUrl(room)}/revisions`),
  saveRevision: (identity: Identity, room: string, label: string) =>
    call<Revision>(identity, 'POST', `${roomUrl(room)}/revisions`, { label }),
  revisionText: async (identity: Identity, room: string, id: number, field: string): Promise<string> => {
    const res = await fetch(`${roomUrl(room)}/revisions/${id}?format=text&field=${encodeURIComponent(field)}`, {
      headers: authHeaders(identity),
    });
    if (!res.ok) throw new ApiError(res.status, 'http_error', `HTTP ${res.status}`);
    return res.text();
  },
  restore: (identity: Identity, room: string, id: number) =>
    call<{ version: string }>(identity, 'POST', `${roomUrl(room)}/revisions/${id}/restore`),
};
