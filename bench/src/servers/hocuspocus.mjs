// @hocuspocus/server 3.x with default settings, no persistence extension.
import { Server } from '@hocuspocus/server';

const server = new Server({ port: Number(process.argv[2]), address: '127.0.0.1', quiet: true });
await server.listen();
