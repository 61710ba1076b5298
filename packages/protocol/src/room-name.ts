/**
 * Room names: 1–256 characters of letters, digits and `. _ ~ : @ + = , -`, with `/` allowed between
 * segments (so `team-42/notes` works with glob patterns). A segment may not be `.` or `..`: proxies
 * and URL libraries resolve those, and `team/*` would otherwise match `team/..`. Anything else is
 * refused rather than normalised, so two spellings can never name the same room. One definition for
 * the server (sockets, REST, imports) and the clients.
 */
const ROOM_NAME = /^(?!\/)(?!.*\/\/)(?!.*\/$)(?!(?:.*\/)?\.\.?(?:\/|$))[A-Za-z0-9._~:@+=,\-/]{1,256}$/;

export const ROOM_NAME_RULE = 'room names are 1-256 chars of A-Z a-z 0-9 . _ ~ : @ + = , - and inner /';

export function isValidRoomName(name: string): boolean {
  return ROOM_NAME.test(name);
}
