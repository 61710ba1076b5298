import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterThisTest } from './cleanup.js';

// Path arithmetic, not `new URL(…, import.meta.url)`: under jsdom (the React tests) URL is jsdom's class.
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/tandem.mjs');

export interface ChildServer {
  child: ChildProcess;
  port: number;
  syncUrl: string;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything written to stderr so far (a native abort prints its assertion here). */
  stderr(): string;
}

export interface SpawnOptions {
  timeoutMs?: number;
  /** Flags for Node itself, before the script (`--expose-gc`, `--import …`). */
  nodeArgs?: string[];
}

/**
 * Runs `tandem serve` as a real child process (so it can be SIGKILLed) and waits until it listens;
 * killed when the test finishes if it still runs.
 * The child runs on the same Node as the tests, so running the suite on another line tests that line.
 */
export async function spawnServer(args: string[], options: SpawnOptions = {}): Promise<ChildServer> {
  const { timeoutMs = 20_000, nodeArgs = [] } = options;
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--port', '0', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Still running when the test finishes (it failed, or never stopped it): killed, never left behind.
  afterThisTest(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time; stderr: ${stderr}`)), timeoutMs);
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (typeof entry.port === 'number') {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // not a log line
        }
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
  return { child, port, syncUrl: `ws://127.0.0.1:${port}/v1/sync`, logs, exited, stderr: () => stderr };
}
