/**
 * Held while this instance is the one that does a deployment-wide job (delivering webhooks), so
 * several instances on one store do it once. `lost` resolves when the lease ended without `release`
 * (the connection holding it died): stop the job and campaign again.
 */
export interface Lease {
  readonly lost: Promise<void>;
  release(): Promise<void>;
}

/** Who does a deployment-wide job: the holder of a named lease, of which there is at most one. */
export interface Leadership {
  /** The lease, or null while another instance holds it. */
  tryAcquire(name: string): Promise<Lease | null>;
}

/**
 * A store one process owns (SQLite, memory) has no other instance to share with: every lease is
 * granted and never lost.
 */
export const soleLeadership: Leadership = {
  tryAcquire: async () => ({ lost: new Promise<void>(() => undefined), release: async () => undefined }),
};
