// y-websocket 1.5.x's own server (bin/utils.js setupWSConnection). No persistence, unless YPERSISTENCE
// names a directory (the ywebsocket-leveldb target): then its built-in y-leveldb stores each update as
// it arrives, after forwarding it, and acknowledges nothing.
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { setupWSConnection } = require('y-websocket/bin/utils');

const port = Number(process.argv[2]);
const server = http.createServer((_req, res) => res.end('ok'));
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (conn, req) => setupWSConnection(conn, req, { gc: true }));
server.on('upgrade', (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
);
server.listen(port, '127.0.0.1');
