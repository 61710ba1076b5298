import { TandemError } from '../errors.js';
import type { Collaborator, CollaboratorStore, RoomVisibility } from '../storage/store.js';
import type { Principal } from './authenticator.js';
import { roleFromGrants } from './room-pattern.js';
import { canWrite, maxRole, roleAtLeast, type Role } from './roles.js';

/**
 * `role` is the new collaborator role, or null when the collaborator was removed. `remote` changes
 * were made on another instance (the role is then unknown here: null; listeners re-read it).
 */
export type AccessChangeListener = (room: string, user: string, role: Role | null, remote: boolean) => void;

/**
 * Decides a principal's role in a room: the strongest of what its credential grants and what the
 * room's collaborators table says. Changes to collaborators are announced so live sessions follow.
 */
export class RoomAccess {
  private readonly listeners = new Set<AccessChangeListener>();

  constructor(
    private readonly store: CollaboratorStore,
    /** With open auth the collaborators table is not consulted: everyone is owner already. */
    private readonly open: boolean,
  ) {}

  onChange(listener: AccessChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async roleFor(principal: Principal, room: string): Promise<Role | null> {
    const granted = roleFromGrants(principal.grants, room);
    if (this.open || granted === 'owner') return granted;
    return maxRole(granted, await this.store.getCollaborator(room, principal.user));
  }

  /** Which rooms the principal may see in a listing (undefined: all of them). */
  visibility(principal: Principal): RoomVisibility | undefined {
    if (this.open) return undefined;
    return { patterns: principal.grants.map((g) => g.pattern), collaborator: principal.user };
  }

  /** The role, or a `forbidden` refusal when there is none (or less than `needed`). */
  async require(principal: Principal, room: string, needed: Role): Promise<Role> {
    const role = await this.roleFor(principal, room);
    if (role === null) throw new TandemError('forbidden', `no access to room "${room}"`);
    if (!roleAtLeast(role, needed)) throw new TandemError('forbidden', `this needs the ${needed} role in "${room}"`);
    return role;
  }

  /**
   * Records the principal as owner of a room nobody owns yet, if it may write there. Called when a
   * room is created, so the creator can manage collaborators afterwards.
   */
  async claimIfUnowned(principal: Principal, room: string, role: Role): Promise<void> {
    if (this.open || !canWrite(role)) return;
    const existing = await this.store.listCollaborators(room);
    if (existing.some((c) => c.role === 'owner')) return;
    await this.setCollaborator(room, principal.user, 'owner');
  }

  list(room: string): Promise<Collaborator[]> {
    return this.store.listCollaborators(room);
  }

  async setCollaborator(room: string, user: string, role: Role): Promise<void> {
    await this.store.setCollaborator(room, user, role);
    this.emit(room, user, role);
  }

  async removeCollaborator(room: string, user: string): Promise<boolean> {
    const removed = await this.store.removeCollaborator(room, user);
    if (removed) this.emit(room, user, null);
    return removed;
  }

  /** Another instance changed a collaborator: this instance's live sessions follow. */
  notifyRemote(room: string, user: string): void {
    this.emit(room, user, null, true);
  }

  private emit(room: string, user: string, role: Role | null, remote = false): void {
    for (const listener of this.listeners) listener(room, user, role, remote);
  }
}
