import pg from 'pg';

/** The database the PostgreSQL suites use: CI's service, or TANDEM_TEST_DATABASE_URL. */
export const TEST_DATABASE_URL = process.env.TANDEM_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether to run a suite that needs PostgreSQL. With CI=true it always runs (and fails if the service
 * is missing: CI must never skip silently); elsewhere it skips, saying so loudly.
 */
export async function needPostgres(suite: string): Promise<boolean> {
  if (process.env.CI === 'true') return true;
  if (await postgresReachable()) return true;
  // eslint-disable-next-line no-console -- a skipped suite must be impossible to miss
  console.warn(`\n!!! SKIPPING ${suite}: no PostgreSQL at ${TEST_DATABASE_URL} (set TANDEM_TEST_DATABASE_URL)\n`);
  return false;
}

let nextSchema = 0;
/** A schema name of its own per store under test, so suites and workers never see each other's rows. */
export function freshSchema(): string {
  return `tandem_t${process.pid}_${Date.now().toString(36)}_${++nextSchema}`;
}

export async function dropSchemas(schemas: string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
