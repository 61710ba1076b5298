import { isValidRoomName, ROOM_NAME_RULE } from '@tandem/protocol';
import { TandemError } from '../errors.js';

export const SYNC_PATH_PREFIX = '/v1/sync/';

/**
 * Room name from a sync URL such as `/v1/sync/team-42/notes?token=…`; null when the path is not a
 * sync path at all, TandemError when it is one but the name is invalid.
 */
export function roomFromSyncUrl(url: string | undefined): string | null {
  if (!url) return null;
  const path = url.split('?', 1)[0]!;
  if (!path.startsWith(SYNC_PATH_PREFIX)) return null;
  let name: string;
  try {
    name = decodeURIComponent(path.slice(SYNC_PATH_PREFIX.length));
  } catch {
    throw new TandemError('invalid_room_name', 'room name is not valid percent-encoding');
  }
  if (!isValidRoomName(name)) {
    throw new TandemError('invalid_room_name', ROOM_NAME_RULE);
  }
  return name;
}
