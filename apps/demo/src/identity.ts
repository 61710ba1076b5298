import { colorFor } from '@tandem/client';

/** Who this browser is in the demo: kept in localStorage, so a reload keeps the name and rooms. */
export interface Identity {
  /** The user id: the name made safe for `--dev-auth` (`X-User-Id`). */
  id: string;
  name: string;
  color: string;
  /** A JWT, when the server requires one (see the README). */
  token: string | null;
}

const NAME = 'tandem.demo.name';
const TOKEN = 'tandem.demo.token';
const RECENT = 'tandem.demo.recent';
const MAX_RECENT = 8;

export function userIdFor(name: string): string {
  return (
    name
      .trim()
      .replace(/[^\w.@:+-]+/g, '-')
      .slice(0, 64) || 'guest'
  );
}

export function loadIdentity(): Identity {
  let name = localStorage.getItem(NAME);
  if (!name) {
    name = `Guest ${Math.floor(1000 + Math.random() * 9000)}`;
    localStorage.setItem(NAME, name);
  }
  return identityFor(name, localStorage.getItem(TOKEN));
}

export function identityFor(name: string, token: string | null): Identity {
  const id = userIdFor(name);
  return { id, name, color: colorFor(id), token: token || null };
}

export function saveIdentity(name: string, token: string | null): Identity {
  localStorage.setItem(NAME, name.trim());
  if (token) localStorage.setItem(TOKEN, token.trim());
  else localStorage.removeItem(TOKEN);
  return loadIdentity();
}

export function recentRooms(): string[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(RECENT) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberRoom(room: string): void {
  const rooms = [room, ...recentRooms().filter((r) => r !== room)].slice(0, MAX_RECENT);
  localStorage.setItem(RECENT, JSON.stringify(rooms));
}
