import { describe, expect, it } from 'vitest';
import { roleFromGrants } from './room-pattern.js';

describe('room patterns', () => {
  const grants = [
    { pattern: 'team-42/*', role: 'editor' as const },
    { pattern: 'team-42/admin', role: 'owner' as const },
    { pattern: 'pub/**', role: 'viewer' as const },
    { pattern: 'doc-*', role: 'editor' as const },
  ];
  it.each([
    ['team-42/notes', 'editor'],
    ['team-42/admin', 'owner'],
    ['team-42/a/b', null],
    ['team-421/notes', null],
    ['pub/x/y/z', 'viewer'],
    ['doc-1', 'editor'],
    ['doc-1/x', null],
    ['docs', null],
  ])('%s → %s', (room, role) => {
    expect(roleFromGrants(grants, room)).toBe(role);
  });

  it('treats regex characters in patterns literally', () => {
    expect(roleFromGrants([{ pattern: 'a.b+c', role: 'viewer' }], 'a.b+c')).toBe('viewer');
    expect(roleFromGrants([{ pattern: 'a.b+c', role: 'viewer' }], 'axbbc')).toBeNull();
  });
});
