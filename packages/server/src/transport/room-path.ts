import { TandemError } from '../errors.js';

export const SYNC_PATH_PREFIX = '/v1/sync/';

/**
 * Room names: 1–256 characters of letters, digits and `. _ ~ : @ + = , -`, with `/` allowed between
 * segments (so `team-42/notes` works with glob patterns). A segment may not be `.` or `..`: proxies
 * and URL libraries resolve those, and `team/*` would otherwise match `team/..`. Anything else is refused rather than
 * normalised, so two spellings can never name the same room.
 */
const ROOM_NAME = /^(?!\/)(?!.*\/\/)(?!.*\/$)(?!(?:.*\/)?\.\.?(?:\/|$))[A-Za-z0-9._~:@+=,\-/]{1,256}$/;

export function isValidRoomName(name: string): boolean {
  return ROOM_NAME.test(name);
}

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
    throw new TandemError(
      'invalid_room_name',
      'room names are 1-256 chars of A-Z a-z 0-9 . _ ~ : @ + = , - and inner /',
    );
  }
  return name;
}
