import type { Role } from './roles.js';
import { maxRole } from './roles.js';

/** A room pattern from a token's `rooms` claim and the role it grants. */
export interface Grant {
  pattern: string;
  role: Role;
}

const cache = new Map<string, RegExp>();

/**
 * Room globs: `*` matches within one path segment (`team-42/*` matches `team-42/notes`, not
 * `team-42/a/b`), `**` matches across segments, everything else is literal.
 */
export function patternToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else {
      source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  re = new RegExp(`^${source}$`);
  if (cache.size > 10_000) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** The strongest role any grant gives for `room`, or null. */
export function roleFromGrants(grants: readonly Grant[], room: string): Role | null {
  let role: Role | null = null;
  for (const grant of grants) {
    if (patternToRegExp(grant.pattern).test(room)) role = maxRole(role, grant.role);
  }
  return role;
}
