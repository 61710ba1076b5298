import { z } from 'zod';

// Flags and env vars arrive as strings; "false" must mean false (z.coerce.boolean would say true).
const booleanish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
// Comma-separated in flags and env vars.
const stringList = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0));
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/**
 * The one typed configuration object. Built once at start from flags and `TANDEM_*` env vars;
 * nothing else reads process.env.
 */
export const configSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(1234),
  dataDir: z.string().min(1).default('./data'),
  /** A built web app (the demo) served at `/`, with its index.html for any other page path. */
  staticDir: z.string().min(1).optional(),
  store: z.enum(['sqlite', 'memory', 'postgres']).default('sqlite'),
  /** PostgreSQL connection string for `--store postgres` (postgres://user:pass@host:5432/db). */
  databaseUrl: optionalString,
  /** How instances tell each other about changes: `local` (one instance) or `redis`. */
  bus: z.enum(['local', 'redis']).default('local'),
  redisUrl: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** The pub/sub channel: one per deployment (instances on another database must not share it). */
  redisChannel: z.string().min(1).max(200).default('tandem'),
  /** Each loaded room is compared with the store this often (finds lost messages; polls while Redis is down). */
  busCheckMs: z.coerce.number().int().min(50).default(5_000),
  /** Redis not answering a ping within this counts as down (a frozen Redis keeps its connections up). */
  busTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(2_000),
  /** Schema for Tandem's tables in that database (created and migrated at start). */
  databaseSchema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier')
    .default('public'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest WebSocket frame accepted; bigger frames close the socket with 1009. */
  maxMessageBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** A peer whose unsent data passes this is dropped (1013) instead of buffered without bound. */
  maxBufferedBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  /** Ping interval; a peer that has not answered the previous ping is dropped. */
  heartbeatMs: z.coerce.number().int().min(50).default(30_000),
  /** An HTTP fallback session with no open stream and no request for this long ends; its presence goes. */
  httpSessionTimeoutMs: z.coerce.number().int().min(100).default(30_000),
  /** How long a room stays loaded after its last peer leaves. */
  unloadDelayMs: z.coerce.number().int().min(0).default(5_000),
  /**
   * How long a busy room of 100+ peers batches updates before sending them, so each peer gets one larger
   * frame instead of several small ones; smaller rooms batch proportionally shorter (0 = never wait).
   * 16 ms is one frame of a 60 Hz display.
   */
  flushWindowMs: z.coerce.number().int().min(0).max(1_000).default(16),
  /**
   * Deliveries a second (changes × the peers of their rooms, over the whole process) below which no
   * room batches: with headroom, every room flushes at the end of the turn. Windows grow to full at
   * half as many again, or when the event loop is saturated (0 = always batch).
   */
  batchAboveDeliveries: z.coerce.number().int().min(0).default(30_000),
  /** Updates in a room's log tail before they are folded into a snapshot (once also a quarter of its bytes). */
  compactAfterUpdates: z.coerce.number().int().min(1).default(500),
  /** On SIGTERM: how long to wait for pending writes before giving up and exiting non-zero. */
  drainTimeoutMs: z.coerce.number().int().min(0).default(15_000),
  /**
   * SQLite: least time between two commits. A busy server's writes (and acks) wait up to this long and
   * share one commit and fsync; a quiet one commits at once (0 = never wait).
   */
  commitWindowMs: z.coerce.number().int().min(0).max(1_000).default(50),
  /** SQLite `synchronous`: FULL survives power loss, NORMAL survives process crashes only. */
  sqliteSynchronous: z.enum(['full', 'normal']).default('full'),

  // Auth. None of these set = open server (everyone may do everything), with a warning at start.
  /** HS256 secret for JWTs, at least 32 characters. */
  jwtSecret: optionalString,
  /** JWKS URL for RS256/ES256 JWTs. */
  jwksUrl: optionalString,
  /** Seconds a token without `exp` stays valid after its `iat` (0: every token must carry `exp`). */
  jwtMaxAge: z.coerce.number().int().min(0).default(0),
  jwtAudience: optionalString,
  jwtIssuer: optionalString,
  /** Cookie name that may carry the JWT; turns on the Origin check for WebSockets. */
  authCookie: optionalString,
  /** Trust X-User-Id / ?user= (demos and tests). Refused together with a JWT secret or JWKS URL. */
  devAuth: booleanish.default(false),
  /** Origins allowed for CORS and for cookie-authenticated WebSockets. */
  corsOrigin: stringList.default([]),
  /** Whether read-only (viewer) peers can publish presence. */
  viewerPresence: booleanish.default(true),
  /** Use X-Forwarded-For for the client address (only behind a proxy you run). */
  trustProxy: booleanish.default(false),

  // Limits. Exceeding one refuses with a specific code; none takes the process down.
  /** Sustained document updates per second per connection; beyond the burst the peer is closed with 4429. */
  maxUpdatesPerSecond: z.coerce.number().positive().default(50),
  updateBurst: z.coerce.number().int().min(1).default(500),
  /** Awareness messages per second per connection; excess is delayed and coalesced (latest wins). */
  maxAwarenessPerSecond: z.coerce.number().positive().default(20),
  awarenessBurst: z.coerce.number().int().min(1).default(40),
  maxConnectionsPerRoom: z.coerce.number().int().min(1).default(1000),
  maxRooms: z.coerce.number().int().min(1).default(10_000),
  /** Upper bound on a room's stored state; updates that would pass it are refused (1009). */
  maxDocumentBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  /** Largest presence (awareness) state one client may publish, in bytes of JSON; larger closes with 1009. */
  maxPresenceBytes: z.coerce
    .number()
    .int()
    .min(256)
    .default(8 * 1024),
  /**
   * All presence states of one room together (a joiner receives them in one frame); past it, new or
   * growing states are dropped and Tandem clients told `presence_full`.
   */
  maxRoomPresenceBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Rooms one client address may cause to be loaded at once (0 = unlimited). */
  maxRoomsPerIp: z.coerce.number().int().min(0).default(200),
  /** A request (headers and body) must arrive within this long, else the connection is closed (408). */
  requestTimeoutMs: z.coerce.number().int().min(1_000).default(30_000),
  /** Concurrent connections per client address (0 = unlimited). */
  maxConnectionsPerIp: z.coerce.number().int().min(0).default(500),
  /** Largest text-delta request body (REST `…/text/:field/ops`). */
  maxOpBytes: z.coerce
    .number()
    .int()
    .min(64)
    .default(10 * 1024),

  // Events, revisions, webhooks.
  /**
   * Events kept per room, newest first (0 = all). Older ones are deleted as new ones arrive; a reader
   * polling from before them gets 410 `events_expired` and resyncs.
   */
  eventRetention: z.coerce.number().int().min(0).default(10_000),
  /** `collab.room_updated` is emitted at most this often per room. */
  roomUpdatedDebounceMs: z.coerce.number().int().min(0).default(5_000),
  /** Automatic revision of a changed room every this many ms (0 = off). */
  revisionIntervalMs: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  /** URLs that receive every event as a signed POST. */
  webhookUrl: stringList.default([]),
  /** HMAC-SHA256 key for the `Tandem-Signature` header. */
  webhookSecret: optionalString,
  /** Asked for a room's initial content when it is first created (`GET <url>?room=`). */
  loadUrl: optionalString,
  loadTimeoutMs: z.coerce.number().int().min(100).default(5_000),
  /** Where a `text/plain` answer of --load-url goes. */
  loadTextField: z.string().min(1).max(256).default('body'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export function parseConfig(input: ConfigInput): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const details = result.error.issues.map((i) => `${camelToFlag(i.path.join('.') || 'config')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${details.join('; ')}`);
  }
  const config = result.data;
  if (config.jwtSecret !== undefined && config.jwtSecret.length < 32) {
    throw new ConfigError('--jwt-secret must be at least 32 characters (HS256 needs 256 bits of key)');
  }
  if (config.jwtSecret && config.jwksUrl) throw new ConfigError('use either --jwt-secret or --jwks-url, not both');
  if (config.devAuth && (config.jwtSecret || config.jwksUrl)) {
    throw new ConfigError('--dev-auth trusts any X-User-Id header; it is refused when JWT auth is configured');
  }
  if (config.webhookUrl.length > 0 && !config.webhookSecret) {
    throw new ConfigError('--webhook-url needs --webhook-secret so receivers can verify deliveries');
  }
  if (config.bus === 'redis' && config.store !== 'postgres') {
    throw new ConfigError('--bus redis needs a store the instances share: --store postgres');
  }
  if (config.store === 'postgres' && !config.databaseUrl) {
    throw new ConfigError('--store postgres needs --database-url (or TANDEM_DATABASE_URL)');
  }
  if (config.loadUrl && !config.webhookSecret) {
    throw new ConfigError('--load-url needs --webhook-secret so the backend can verify requests are ours');
  }
  if (config.authCookie && !config.jwtSecret && !config.jwksUrl) {
    throw new ConfigError('--auth-cookie needs --jwt-secret or --jwks-url to verify the cookie');
  }
  return config;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const camelToEnv = (key: string): string => `TANDEM_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
const camelToFlag = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export const configKeys = Object.keys(configSchema.shape) as (keyof Config)[];

/** `--max-message-bytes` and `TANDEM_MAX_MESSAGE_BYTES` both set `maxMessageBytes`; flags win. */
export function configFromSources(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): Config {
  const input: Record<string, string> = {};
  for (const key of configKeys) {
    const fromFlag = flags[key];
    const fromEnv = env[camelToEnv(key)];
    if (fromFlag !== undefined) input[key] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== '') input[key] = fromEnv;
  }
  return parseConfig(input as ConfigInput);
}

export const configFlagName = camelToFlag;
export const configEnvName = camelToEnv;
