import { z } from 'zod';
import { USER_ID_PATTERN, USER_ID_RULE } from '../auth/user-id.js';
import { isValidRoomName, ROOM_NAME_RULE } from '@tandem/protocol';

export const roomParam = z.string().refine(isValidRoomName, { message: ROOM_NAME_RULE });
export const userParam = z.string().regex(USER_ID_PATTERN, USER_ID_RULE);
export const fieldParam = z.string().min(1).max(256);

/** `If-Match: "v"` or `baseVersion`, whichever is given. */
export function expectedVersion(ifMatch: string | undefined, baseVersion: string | undefined): string | undefined {
  if (baseVersion !== undefined) return baseVersion;
  if (ifMatch === undefined || ifMatch === '*') return undefined;
  return ifMatch.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
