import { z } from 'zod';

/**
 * The one typed configuration object. Built once at start from flags and `TANDEM_*` env vars;
 * nothing else reads process.env.
 */
export const configSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(1234),
  dataDir: z.string().min(1).default('./data'),
  store: z.enum(['sqlite', 'memory']).default('sqlite'),
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
  /** How long a room stays loaded after its last peer leaves. */
  unloadDelayMs: z.coerce.number().int().min(0).default(5_000),
  /** Updates in a room's log tail before they are folded into a snapshot. */
  compactAfterUpdates: z.coerce.number().int().min(1).default(500),
  /** On SIGTERM: how long to wait for pending writes before giving up and exiting non-zero. */
  drainTimeoutMs: z.coerce.number().int().min(0).default(15_000),
  /** SQLite `synchronous`: FULL survives power loss, NORMAL survives process crashes only. */
  sqliteSynchronous: z.enum(['full', 'normal']).default('full'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export function parseConfig(input: ConfigInput): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const details = result.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${details}`);
  }
  return result.data;
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
