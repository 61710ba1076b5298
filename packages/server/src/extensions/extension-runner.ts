import type { IncomingMessage } from 'node:http';
import type * as Y from 'yjs';
import type { Authenticator, Principal } from '../auth/authenticator.js';
import { TandemError } from '../errors.js';
import type { EventEnvelope } from '../events/event-service.js';
import type { Logger } from '../ops/logger.js';
import type { ConnectionInfo, Extension } from './extension.js';
import { initialUpdate } from './initial-content.js';

type Reader = <T>(room: string, fn: (doc: Y.Doc) => T) => Promise<T>;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Runs the embedder's extensions: each hook of each extension in list order, every promise awaited.
 * Hooks that can refuse (authenticate, connect, load, before*) turn a throw into a coded refusal; the
 * others (disconnect, change, store, event) only log one. Nothing here leaves a promise unhandled.
 */
export class ExtensionRunner {
  private readonly changeTimers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly extensions: readonly Extension[],
    private readonly log: Logger,
    private readonly changeDebounceMs: number,
    /** Initial content is held to the same limit as a client's updates (`--max-document-bytes`). */
    private readonly maxDocumentBytes = Infinity,
    /** Reads a room's document for the change hooks (the server gives the registry's `use`). */
    private readonly reader: Reader | null = null,
  ) {}

  private with<K extends keyof Extension>(hook: K): (Extension & Required<Pick<Extension, K>>)[] {
    return this.extensions.filter((e): e is Extension & Required<Pick<Extension, K>> => typeof e[hook] === 'function');
  }

  get checksUpdates(): boolean {
    return this.with('beforeApplyUpdate').length > 0;
  }

  get loadsDocuments(): boolean {
    return this.with('onLoadDocument').length > 0;
  }

  /**
   * The authenticator with every `onAuthenticate` after it: still the one auth seam. An in-band token
   * refresh goes through them too (with no request), so a refreshed session keeps what the hooks
   * added (a display name, grants) and a user the hooks now refuse is refused at refresh.
   */
  wrap(authenticator: Authenticator): Authenticator {
    if (this.with('onAuthenticate').length === 0) return authenticator;
    const afterHooks = async (request: IncomingMessage | null, accepted: Principal): Promise<Principal> => {
      let principal = accepted;
      for (const ext of this.with('onAuthenticate')) {
        const replaced = await this.refusing(ext, 'onAuthenticate', () => ext.onAuthenticate({ request, principal }));
        if (replaced) principal = replaced;
      }
      return principal;
    };
    const { verifyToken } = authenticator;
    return {
      open: authenticator.open,
      usesCookies: authenticator.usesCookies,
      authenticate: async (request) => afterHooks(request, await authenticator.authenticate(request)),
      ...(verifyToken
        ? { verifyToken: async (token: string) => afterHooks(null, await verifyToken.call(authenticator, token)) }
        : {}),
    };
  }

  async connect(info: ConnectionInfo): Promise<void> {
    for (const ext of this.with('onConnect')) await this.refusing(ext, 'onConnect', () => ext.onConnect(info));
  }

  disconnect(info: ConnectionInfo): void {
    for (const ext of this.with('onDisconnect')) this.background(ext, 'onDisconnect', () => ext.onDisconnect(info));
  }

  /** The first loader's answer as one checked Yjs update; null for an empty room. Throws if a loader fails. */
  async loadDocument(room: string): Promise<Uint8Array | null> {
    for (const ext of this.with('onLoadDocument')) {
      const content = await ext.onLoadDocument({ room });
      if (content === null || content === undefined) continue;
      const update = initialUpdate(content);
      if (update.length > this.maxDocumentBytes) {
        throw new TandemError(
          'room_load_failed',
          `initial content from ${ext.name} is ${update.length} bytes, over --max-document-bytes (${this.maxDocumentBytes}); not loaded`,
        );
      }
      return update;
    }
    return null;
  }

  async beforeApplyUpdate(room: string, user: string, update: Uint8Array, preview: () => Y.Doc): Promise<void> {
    for (const ext of this.with('beforeApplyUpdate')) {
      try {
        await ext.beforeApplyUpdate({ room, user, update, preview });
      } catch (err) {
        if (err instanceof TandemError) throw err;
        throw new TandemError('update_rejected', `update rejected: ${messageOf(err)}`);
      }
    }
  }

  /** Each extension may transform or reject an app event; returns what is to be published. */
  async beforeEvent(
    room: string,
    event: { type: string; user: string | null; data: unknown },
  ): Promise<{ type: string; user: string | null; data: unknown }> {
    let current = event;
    for (const ext of this.with('beforeEvent')) {
      try {
        const changed = await ext.beforeEvent({ room, ...current });
        if (changed) current = { ...current, ...changed };
      } catch (err) {
        if (err instanceof TandemError) throw err;
        throw new TandemError('event_rejected', `event rejected: ${messageOf(err)}`);
      }
    }
    return current;
  }

  event(event: EventEnvelope): void {
    for (const ext of this.with('onEvent')) this.background(ext, 'onEvent', () => ext.onEvent({ event }));
  }

  stored(room: string, seq: number): void {
    for (const ext of this.with('afterStore')) this.background(ext, 'afterStore', () => ext.afterStore({ room, seq }));
  }

  /** The room changed: `onChange` runs once the room has been quiet for the debounce window. */
  changed(room: string): void {
    if (this.with('onChange').length === 0 || this.changeTimers.has(room)) return;
    const timer = setTimeout(() => {
      this.changeTimers.delete(room);
      this.runChange(room);
    }, this.changeDebounceMs);
    timer.unref();
    this.changeTimers.set(room, timer);
  }

  /** Runs every pending `onChange` now and waits for all hooks still running (drain: autosaves land). */
  async flush(): Promise<void> {
    for (const [room, timer] of this.changeTimers) {
      clearTimeout(timer);
      this.changeTimers.delete(room);
      this.runChange(room);
    }
    await Promise.all(this.running);
  }

  private runChange(room: string): void {
    const reader = this.reader;
    if (!reader) return;
    const read = <T>(fn: (doc: Y.Doc) => T): Promise<T> => reader(room, fn);
    for (const ext of this.with('onChange')) this.background(ext, 'onChange', () => ext.onChange({ room, read }));
  }

  /** Awaits a hook that may refuse: its TandemError is the refusal; anything else is a bug, logged. */
  private async refusing<T>(ext: Extension, hook: string, run: () => T | Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof TandemError) throw err;
      this.log.error({ err, extension: ext.name, hook }, 'extension hook failed');
      throw new TandemError('extension_failed', `the server's ${hook} hook failed`);
    }
  }

  /** Runs a hook nobody waits for, tracked so a drain can, and logged if it throws. */
  private background(ext: Extension, hook: string, run: () => unknown): void {
    const task = (async () => {
      try {
        await run();
      } catch (err) {
        this.log.error({ err, extension: ext.name, hook }, 'extension hook failed');
      }
    })();
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  close(): void {
    for (const timer of this.changeTimers.values()) clearTimeout(timer);
    this.changeTimers.clear();
  }
}
