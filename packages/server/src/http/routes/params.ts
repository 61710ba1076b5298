import { z } from 'zod';
import { isValidRoomName } from '../../transport/room-path.js';

export const roomParam = z
  .string()
  .refine(isValidRoomName, { message: 'room names are 1-256 chars of A-Z a-z 0-9 . _ ~ : @ + = , - and inner /' });
export const userParam = z.string().regex(/^[\w.@:+-]{1,128}$/, 'user ids are 1-128 chars of A-Z a-z 0-9 _ . @ : + -');
export const fieldParam = z.string().min(1).max(256);

/** `If-Match: "v"` or `baseVersion`, whichever is given. */
export function expectedVersion(ifMatch: string | undefined, baseVersion: string | undefined): string | undefined {
  if (baseVersion !== undefined) return baseVersion;
  if (ifMatch === undefined || ifMatch === '*') return undefined;
  return ifMatch.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
