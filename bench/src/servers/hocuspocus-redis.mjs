// @hocuspocus/server 3.x with @hocuspocus/extension-redis: one of several instances sharing documents
// over Redis pub/sub. No database extension: Hocuspocus acknowledges nothing durable.
import { Redis } from '@hocuspocus/extension-redis';
import { Server } from '@hocuspocus/server';
import { URL } from 'node:url';

const [port, redisUrl, prefix] = process.argv.slice(2);
const { hostname, port: redisPort } = new URL(redisUrl);
const server = new Server({
  port: Number(port),
  address: '127.0.0.1',
  quiet: true,
  extensions: [new Redis({ host: hostname, port: Number(redisPort), prefix })],
});
await server.listen();
