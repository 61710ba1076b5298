import pg from 'pg';
import type { Lease, Leadership } from '../leadership.js';

// A held lease's connection is pinged this often; a failed ping ends the lease.
const LEASE_PING_MS = 10_000;

export interface PostgresLeasesOptions {
  connectionString: string;
  /** Leases are per schema: instances on another schema of the same database are another deployment. */
  schema: string;
  connectionTimeoutMs?: number;
  applicationName?: string;
}

/**
 * Leadership among the instances sharing one PostgreSQL schema: one holder per lease name, by
 * session-level advisory locks on connections of their own (outside the store's pool).
 */
export class PostgresLeases implements Leadership {
  /** A connection kept from a lease attempt that found the lease taken (see tryAcquire). */
  private leaseCandidate: pg.Client | null = null;
  private closed = false;

  constructor(
    private readonly options: PostgresLeasesOptions,
    /** Settles once the schema is migrated: no lease is asked for before. */
    private readonly ready: Promise<void>,
  ) {}

  /**
   * A lease is a session-level advisory lock (per schema and name) on a connection of its own, outside
   * the pool: PostgreSQL releases it when that connection dies, so a crashed instance's lease passes
   * on. The connection is pinged every LEASE_PING_MS; a failed ping ends the lease here as well.
   */
  async tryAcquire(name: string): Promise<Lease | null> {
    await this.ready;
    if (this.closed) return null;
    // The connection of the last attempt, if the lease was taken then: asking again on it spares the
    // database a new backend per attempt (every few seconds, per waiting instance).
    let client = this.leaseCandidate;
    this.leaseCandidate = null;
    if (!client) {
      const fresh = new pg.Client({
        connectionString: this.options.connectionString,
        connectionTimeoutMillis: this.options.connectionTimeoutMs ?? 5_000,
        application_name: `${this.options.applicationName ?? 'tandem'}-lease`,
        keepAlive: true,
      });
      // A waiting connection that dies is dropped; the next attempt opens another.
      fresh.on('error', () => {
        if (this.leaseCandidate === fresh) this.leaseCandidate = null;
      });
      try {
        await fresh.connect();
      } catch (err) {
        await fresh.end().catch(() => undefined);
        throw err;
      }
      client = fresh;
    }
    const key = `${this.options.schema}:${name}`;
    let ok: boolean;
    try {
      ok = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key])).rows[0]!.ok;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (!ok) {
      if (this.closed) await client.end().catch(() => undefined);
      else this.leaseCandidate = client;
      return null;
    }
    return this.leaseOn(client, key);
  }

  /** The lease held by `client`'s session: lost when the connection ends or a ping fails. */
  private leaseOn(client: pg.Client, key: string): Lease {
    let markLost: () => void = () => undefined;
    const lost = new Promise<void>((resolve) => (markLost = resolve));
    client.on('error', () => markLost());
    client.on('end', () => markLost());
    const ping = setInterval(() => {
      client.query('SELECT 1').catch(() => markLost());
    }, LEASE_PING_MS);
    ping.unref();
    void lost.then(() => clearInterval(ping));
    return {
      lost,
      release: async () => {
        clearInterval(ping);
        client.removeAllListeners('end');
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  }

  /** Ends the kept candidate connection; leases already handed out are released by their holders. */
  async close(): Promise<void> {
    this.closed = true;
    const candidate = this.leaseCandidate;
    this.leaseCandidate = null;
    await candidate?.end().catch(() => undefined);
  }
}
