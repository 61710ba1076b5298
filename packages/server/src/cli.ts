import { parseArgs } from 'node:util';
import { isRole } from './auth/roles.js';
import { signToken } from './auth/sign-token.js';
import {
  ConfigError,
  configEnvName,
  configFlagName,
  configFromSources,
  configKeys,
  type Config,
} from './ops/config.js';
import { createLogger } from './ops/logger.js';
import { EXPORT_USAGE, exportCommand, importCommand } from './archive-commands.js';
import { startServer } from './server.js';

const USAGE = `Usage: tandem serve [options]

Options (each also an env var, e.g. --data-dir → TANDEM_DATA_DIR; lists are comma-separated):
  --host <addr>                 interface to listen on (default 127.0.0.1)
  --port <n>                    port (default 1234; 0 picks a free one)
  --data-dir <dir>              where the SQLite store lives (default ./data)
  --store sqlite|memory|postgres  storage backend (default sqlite)
  --database-url <url>          PostgreSQL for --store postgres (postgres://user:pass@host/db)
  --database-schema <name>      schema for Tandem's tables there; migrated at start (default public)
  --bus local|redis             how instances on one store tell each other about changes (default local)
  --redis-url <url>             the Redis of the redis bus (default redis://127.0.0.1:6379)
  --redis-channel <name>        pub/sub channel, one per deployment sharing that Redis (default tandem)
  --bus-check-ms <n>            compare each loaded room with the store this often, to find lost
                                messages; every second while Redis is down (default 5000)
  --bus-timeout-ms <n>          Redis not answering a ping within this counts as down: rooms poll the
                                store until it answers again (default 2000)
  --static-dir <dir>            serve a built web app (the demo) at / (default: none)
  --log-level <level>           fatal|error|warn|info|debug|trace|silent (default info)
  --max-message-bytes <n>       largest accepted frame; larger closes with 1009 (default 1048576)
  --max-buffered-bytes <n>      unsent bytes per peer before it is dropped with 1013 (default 8388608)
  --heartbeat-ms <n>            ping interval; silent peers are dropped (default 30000)
  --http-session-timeout-ms <n> an HTTP fallback session with no stream and no request for this
                                long ends and its presence is removed (default 30000)
  --unload-delay-ms <n>         keep an empty room loaded this long (default 5000)
  --flush-window-ms <n>         under load, a busy room of 100+ peers batches updates this long;
                                smaller rooms proportionally less (default 16; 0 = never)
  --batch-above-deliveries <n>  the load (deliveries a second) from which busy rooms batch; below it
                                every room sends at once (default 30000; 0 = always batch)
  --compact-after-updates <n>   fold the log into a snapshot after this many updates, once they are
                                also a quarter of the snapshot's bytes (default 500)
  --drain-timeout-ms <n>        max wait for writes on SIGTERM (default 15000)
  --sqlite-synchronous full|normal  full survives power loss, normal only crashes (default full)
  --commit-window-ms <n>        least time between SQLite commits when busy; writes in between share
                                one commit (default 50; 0 = never wait)

  Auth (none set = open server: everyone may read and write, bound to 127.0.0.1 by default)
  --jwt-secret <s>              HS256 secret (32+ chars)
  --jwks-url <url>              JWKS for RS256/ES256 tokens (cached; rotation supported)
  --jwt-max-age <seconds>       accept tokens without "exp" for this long after "iat" (default 0;
                                0: every token must carry "exp")
  --jwt-audience <aud>          required "aud" claim
  --jwt-issuer <iss>            required "iss" claim
  --auth-cookie <name>          also read the token from this cookie (Origin must be allowed)
  --dev-auth                    trust X-User-Id / ?user= (demos and tests; refused with JWT)
  --cors-origin <a,b>           origins allowed for CORS and cookie-authenticated sockets
  --viewer-presence true|false  may viewers publish presence (default true)
  --trust-proxy                 take the client address from X-Forwarded-For

  Limits
  --max-updates-per-second <n>  sustained updates per connection (default 50; burst --update-burst 500)
  --max-awareness-per-second <n> presence messages per connection, excess delayed (default 20; --awareness-burst 40)
  --max-connections-per-room <n> (default 1000)      --max-rooms <n> loaded per process (default 10000)
  --max-document-bytes <n>      largest room state (default 67108864)
  --max-presence-bytes <n>      largest presence state of one client; larger closes with 1009 (default 8192)
  --max-room-presence-bytes <n> all presence of one room; past it new states are dropped (default 1048576)
  --max-connections-per-ip <n>  (default 500; 0 = unlimited)
  --request-timeout-ms <n>      a request must arrive within this long (default 30000; headers 10 s)
  --max-rooms-per-ip <n>        rooms one address may have loaded by its joins (default 200; 0 = unlimited)
  --max-op-bytes <n>            largest REST text-delta request (default 10240)

  Events, revisions, webhooks
  --room-updated-debounce-ms <n> collab.room_updated at most this often per room (default 5000)
  --event-retention <n>         events kept per room, older ones deleted (default 10000; 0 = all)
  --revision-interval-ms <n>    automatic revision of changed rooms (default 600000; 0 = off)
  --webhook-url <a,b>           POST every event to these URLs (signed; needs --webhook-secret)
  --webhook-secret <s>          HMAC-SHA256 key for the Tandem-Signature header
  --load-url <url>              GET <url>?room=<name> for a new room's initial content (Yjs, text,
                                JSON; 404 = empty), signed with --webhook-secret
  --load-timeout-ms <n>         how long a load request may take; slower fails the load (default 5000)
  --load-text-field <name>      the Y.Text a text/plain answer goes into (default body)
`;

const TOKEN_USAGE = `Usage: tandem token --user <id> --room <pattern> [--role editor] [--ttl 1h] [--secret <s>]
                    [--name <display name>] [--audience <aud>] [--issuer <iss>]

Prints an HS256 JWT for development. The secret defaults to TANDEM_JWT_SECRET. --room may be repeated;
patterns use * within a path segment and ** across segments ("team-42/*").
`;

const BOOLEAN_KEYS = new Set<string>(['devAuth', 'trustProxy']);
// May be given several times (or comma-separated): --webhook-url a --webhook-url b.
const LIST_KEYS = new Set<string>(['corsOrigin', 'webhookUrl']);

async function serve(argv: string[]): Promise<void> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const key of configKeys) {
    options[configFlagName(key).slice(2)] = {
      type: BOOLEAN_KEYS.has(key) ? 'boolean' : 'string',
      ...(LIST_KEYS.has(key) ? { multiple: true } : {}),
    };
  }
  const { values } = parseArgs({ args: argv, options, strict: true });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const flags: Record<string, string | undefined> = {};
  for (const key of configKeys) {
    const value = values[configFlagName(key).slice(2)];
    flags[key] = value === undefined ? undefined : Array.isArray(value) ? value.join(',') : String(value);
  }
  // The one place that reads process.env.
  const config: Config = configFromSources(flags, process.env);
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, { logger, processMetrics: true });
  // Before anything is printed: whoever reads the output may signal us as soon as it sees the port.
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    server.drain().then(
      ({ clean }) => {
        logger.flush();
        process.exit(clean ? 0 : 1);
      },
      (err: unknown) => {
        logger.error({ err }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The one line a newcomer needs, before the JSON logs.
  if (config.staticDir) process.stdout.write(`\n  Tandem demo: ${server.httpUrl}/\n\n`);
  logger.info(
    {
      port: server.port,
      url: `${server.syncUrl}/<room>`,
      store: config.store,
      dataDir: config.dataDir,
      webhooks: config.webhookUrl.length,
      node: process.versions.node,
    },
    `Tandem listening on ${server.syncUrl}/<room>`,
  );
  if (server.authenticator.open) {
    logger.warn('no authentication configured: anyone who can reach this port can read and write every room');
  } else if (config.devAuth) {
    logger.warn('--dev-auth is on: any client can claim any user id; never use this in production');
  }
}

async function token(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      secret: { type: 'string' },
      user: { type: 'string' },
      name: { type: 'string' },
      room: { type: 'string', multiple: true },
      role: { type: 'string', default: 'editor' },
      ttl: { type: 'string', default: '1h' },
      audience: { type: 'string' },
      issuer: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(TOKEN_USAGE);
    return;
  }
  const secret = values.secret ?? process.env[configEnvName('jwtSecret')];
  if (!secret) throw new ConfigError('tandem token needs --secret or TANDEM_JWT_SECRET');
  if (secret.length < 32) throw new ConfigError('the secret must be at least 32 characters');
  if (!values.user) throw new ConfigError('tandem token needs --user');
  if (!values.room?.length) throw new ConfigError('tandem token needs --room (a room name or pattern)');
  if (!isRole(values.role)) throw new ConfigError('--role must be owner, editor or viewer');
  const role = values.role;
  const jwt = await signToken({
    secret,
    user: values.user,
    name: values.name,
    rooms: Object.fromEntries(values.room.map((r) => [r, role])),
    ttl: values.ttl,
    audience: values.audience,
    issuer: values.issuer,
  });
  process.stdout.write(`${jwt}\n`);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'token':
      return token(rest);
    case 'export':
      return exportCommand(rest);
    case 'import':
      return importCommand(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`Commands: serve, token, export, import\n\n${USAGE}\n${TOKEN_USAGE}\n${EXPORT_USAGE}`);
      return;
    default:
      throw new ConfigError(`unknown command "${command}"; try "tandem help"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`tandem: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
