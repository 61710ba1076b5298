import { parseArgs } from 'node:util';
import { ConfigError, configFlagName, configFromSources, configKeys, type Config } from './ops/config.js';
import { createLogger } from './ops/logger.js';
import { startServer } from './server.js';

const USAGE = `Usage: tandem serve [options]

Options (each also an env var, e.g. --data-dir → TANDEM_DATA_DIR):
  --host <addr>                 interface to listen on (default 127.0.0.1)
  --port <n>                    port (default 1234; 0 picks a free one)
  --data-dir <dir>              where the SQLite store lives (default ./data)
  --store sqlite|memory         storage backend (default sqlite)
  --log-level <level>           fatal|error|warn|info|debug|trace|silent (default info)
  --max-message-bytes <n>       largest accepted frame; larger closes with 1009 (default 1048576)
  --max-buffered-bytes <n>      unsent bytes per peer before it is dropped with 1013 (default 8388608)
  --heartbeat-ms <n>            ping interval; silent peers are dropped (default 30000)
  --unload-delay-ms <n>         keep an empty room loaded this long (default 5000)
  --compact-after-updates <n>   fold the log into a snapshot after this many updates (default 500)
  --drain-timeout-ms <n>        max wait for writes on SIGTERM (default 15000)
  --sqlite-synchronous full|normal  full survives power loss, normal only crashes (default full)
`;

async function serve(argv: string[]): Promise<void> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const key of configKeys) options[configFlagName(key).slice(2)] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const flags: Record<string, string | undefined> = {};
  for (const key of configKeys) flags[key] = values[configFlagName(key).slice(2)] as string | undefined;
  // The one place that reads process.env.
  const config: Config = configFromSources(flags, process.env);
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, { logger });
  logger.info(
    { port: server.port, url: `${server.syncUrl}/<room>`, store: config.store, dataDir: config.dataDir },
    `Tandem listening on ${server.syncUrl}/<room>`,
  );
  logger.warn('no authentication configured: anyone who can reach this port can read and write every room');

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
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\nCommands: serve\n`);
      return;
    default:
      throw new ConfigError(`unknown command "${command}"; try "tandem help"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`tandem: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
