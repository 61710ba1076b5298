import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON lines by default; human-readable when a person is watching a terminal. */
export function createLogger(level: string, pretty = process.stdout.isTTY === true): Logger {
  return pino({
    level,
    base: { service: 'tandem' },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'token'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}

export const silentLogger = (): Logger => pino({ level: 'silent' });

/** A URL safe to log: the `token` query parameter's value is replaced. */
export function redactUrl(url: string): string {
  // A JWT pasted anywhere else in the URL (a path segment) is recognisable by its shape.
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]').replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[redacted]');
}
