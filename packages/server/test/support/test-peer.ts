import { afterThisTest } from './cleanup.js';
import {
  decodeMessage,
  encodeAwareness,
  encodeHello,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  encodeToken,
  TANDEM_SUBPROTOCOL,
  type Message,
} from '@tandem/protocol';
import * as awarenessProtocol from 'y-protocols/awareness';
import WebSocket from 'ws';
import * as Y from 'yjs';

export interface TestPeerOptions {
  /** Opt in to Tandem extensions with the subprotocol (default true). */
  tandem?: boolean;
  doc?: Y.Doc;
  /** Extra request headers (Authorization, Cookie, Origin, X-User-Id…). */
  headers?: Record<string, string>;
  /** Extra subprotocols to offer, e.g. a `tandem.token.<jwt>` entry. */
  protocols?: string[];
  /** Answer the server's pings (default true); false plays a client that went silent. */
  autoPong?: boolean;
}

/**
 * A minimal protocol client for tests: a Y.Doc kept in sync over one socket, every received message
 * recorded, acks tracked. Speaks the same bytes a stock y-websocket client does.
 */
export class TestPeer {
  readonly doc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly ws: WebSocket;
  readonly received: Message[] = [];
  /** Highest acked update number. */
  acked = 0;
  /** Number of updates sent (the numbers acks refer to). */
  sent = 0;
  /** The update each numbered message carried (index n-1 for message n). */
  readonly sentUpdates: Uint8Array[] = [];
  synced = false;
  closeEvent: { code: number; reason: string } | null = null;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, options: TestPeerOptions = {}) {
    this.doc = options.doc ?? new Y.Doc();
    this.awareness = new awarenessProtocol.Awareness(this.doc);
    const protocols = [...(options.tandem === false ? [] : [TANDEM_SUBPROTOCOL]), ...(options.protocols ?? [])];
    this.ws = new WebSocket(url, protocols, { headers: options.headers, autoPong: options.autoPong ?? true });
    // Created in a test, cut off when it finishes.
    afterThisTest(() => this.terminate());
    this.ws.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeEvent = { code, reason: reason.toString() };
        resolve(this.closeEvent);
      });
    });
    this.ws.on('error', () => undefined);
    this.ws.on('open', () => {
      if (options.tandem !== false) this.ws.send(encodeHello({ clientId: `test-${this.doc.clientID}` }));
      this.ws.send(encodeSyncStep1(Y.encodeStateVector(this.doc)));
    });
    this.ws.on('message', (data: Buffer) => this.onMessage(new Uint8Array(data)));
    this.doc.on('update', this.onLocalUpdate);
    this.awareness.on('update', this.onLocalAwareness);
  }

  get text(): string {
    return this.doc.getText('t').toString();
  }

  /** Message types received so far, in order. */
  get types(): string[] {
    return this.received.map((m) => m.type);
  }

  /** Hands the server a fresh token for this session. */
  refreshToken(token: string): void {
    this.ws.send(encodeToken(token));
  }

  /** Sends raw bytes, bypassing the doc (for malformed-input tests). */
  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  async close(): Promise<void> {
    this.doc.off('update', this.onLocalUpdate);
    this.awareness.destroy();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await this.closed;
  }

  /** Kills the TCP connection without a closing handshake, like a dropped network. */
  terminate(): void {
    this.ws.terminate();
  }

  private onMessage(bytes: Uint8Array): void {
    const message = decodeMessage(bytes);
    this.received.push(message);
    switch (message.type) {
      case 'sync-step1':
        {
          const update = Y.encodeStateAsUpdate(this.doc, message.stateVector);
          this.ws.send(encodeSyncStep2(update));
          this.sentUpdates.push(update);
          this.sent++;
        }
        return;
      case 'sync-step2':
        Y.applyUpdate(this.doc, message.update, this);
        this.synced = true;
        return;
      case 'sync-update':
        Y.applyUpdate(this.doc, message.update, this);
        return;
      case 'awareness':
        awarenessProtocol.applyAwarenessUpdate(this.awareness, message.update, this);
        return;
      case 'ack':
        this.acked = Math.max(this.acked, message.seq);
        return;
      default:
        return;
    }
  }

  private readonly onLocalUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(encodeSyncUpdate(update));
    this.sentUpdates.push(update);
    this.sent++;
  };

  private readonly onLocalAwareness = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === this || this.ws.readyState !== WebSocket.OPEN) return;
    const changed = [...added, ...updated, ...removed];
    this.ws.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed)));
  };
}

/** A connected peer; inside a test it is cut off when the test finishes (as every TestPeer is). */
export async function connectPeer(url: string, options?: TestPeerOptions): Promise<TestPeer> {
  const peer = new TestPeer(url, options);
  await peer.opened;
  return peer;
}
