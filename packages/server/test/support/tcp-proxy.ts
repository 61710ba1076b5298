import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real service (PostgreSQL, Redis) that a test can freeze: connections stay
 * open but nothing is forwarded either way — what a SIGSTOPped or partitioned server looks like to its
 * clients — and thaw again. Registering its close with the test is the caller's job (`onTestFinished`).
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private frozen = false;
  /** Bytes that arrived while frozen (a chunk already read when the freeze came), in order. */
  private held: [Socket, Buffer][] = [];
  port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target.host, target.port);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  /** Stops forwarding on every connection, new ones included; bytes wait in the kernel buffers. */
  freeze(): void {
    this.frozen = true;
    for (const [a, b] of this.pairs) {
      a.pause();
      b.pause();
    }
  }

  thaw(): void {
    this.frozen = false;
    for (const [to, chunk] of this.held.splice(0)) to.write(chunk);
    for (const [a, b] of this.pairs) {
      a.resume();
      b.resume();
    }
  }

  /** Drops every connection, as a killed server does; new ones are accepted again (a restart). */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
  }

  /** While set, new connections are closed at once, as by a stopped server's port. */
  refusing = false;

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!this.frozen) {
          to.write(chunk);
          return;
        }
        this.held.push([to, chunk]);
        from.pause();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    if (this.frozen) {
      client.pause();
      upstream.pause();
    }
    const drop = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  }
}
