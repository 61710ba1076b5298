import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterThisTest } from '../../server/test/support/cleanup.js';

/**
 * A reverse proxy in front of a test server that behaves like the networks the HTTP fallback is for:
 * it can refuse every WebSocket upgrade, cut open event streams, or buffer them (never flushing,
 * like a proxy that waits for a response to end).
 */
export class NetworkProxy {
  blockUpgrades = false;
  bufferEventStreams = false;
  /** Requests seen, `METHOD path` (query left off), for assertions on what went over HTTP. */
  readonly requests: string[] = [];
  /** `Last-Event-ID` headers of stream requests, in order. */
  readonly resumedFrom: string[] = [];
  upgradesRefused = 0;
  private readonly server: http.Server;
  private readonly streams = new Set<ServerResponse>();
  private readonly tunnels = new Set<net.Socket>();

  private constructor(private readonly targetPort: number) {
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: net.Socket, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  /** Inside a test, closed when the test finishes. */
  static async start(targetPort: number): Promise<NetworkProxy> {
    const proxy = new NetworkProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    afterThisTest(() => proxy.close());
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get syncUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/sync`;
  }

  /** Drops every open event stream mid-way, as a flaky proxy does. */
  cutStreams(): void {
    for (const res of this.streams) res.destroy();
  }

  /** Drops open WebSocket tunnels too (what a network change does). */
  cutTunnels(): void {
    for (const socket of this.tunnels) socket.destroy();
  }

  async close(): Promise<void> {
    this.cutStreams();
    this.cutTunnels();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(`${req.method} ${req.url!.split('?')[0]}`);
    const lastEventId = req.headers['last-event-id'];
    if (typeof lastEventId === 'string') this.resumedFrom.push(lastEventId);
    const upstream = http.request(
      { host: '127.0.0.1', port: this.targetPort, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        // A reset of either side mid-response (a server closing a session, a client going away) ends the
        // other side too; unhandled, it would be an uncaught ECONNRESET in the test process.
        upRes.on('error', () => res.destroy());
        const isStream = (upRes.headers['content-type'] ?? '').startsWith('text/event-stream');
        if (isStream) {
          this.streams.add(res);
          res.once('close', () => {
            this.streams.delete(res);
            upRes.destroy();
          });
        }
        if (isStream && this.bufferEventStreams) {
          // Nothing at all reaches the client until the upstream response ends.
          const chunks: Buffer[] = [];
          upRes.on('data', (chunk: Buffer) => chunks.push(chunk));
          upRes.on('end', () => {
            res.writeHead(upRes.statusCode!, upRes.headers);
            res.end(Buffer.concat(chunks));
          });
          return;
        }
        res.writeHead(upRes.statusCode!, upRes.headers);
        upRes.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    res.on('error', () => upstream.destroy());
    req.pipe(upstream);
  }

  private upgrade(req: IncomingMessage, socket: net.Socket, head: Buffer): void {
    // A client that gives up on the upgrade resets its socket; unhandled, that is an uncaught ECONNRESET.
    socket.on('error', () => socket.destroy());
    if (this.blockUpgrades) {
      this.upgradesRefused++;
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    this.tunnels.add(socket);
    socket.once('close', () => {
      this.tunnels.delete(socket);
      upstream.destroy();
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  }
}
