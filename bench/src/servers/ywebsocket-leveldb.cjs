// y-websocket 1.5.x's own server with its built-in persistence: y-leveldb in YPERSISTENCE (set by the
// harness to a fresh directory). It stores each update as it arrives, after sending it on: nothing is
// acknowledged, so a crash loses what LevelDB had not written yet.
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { setupWSConnection } = require('y-websocket/bin/utils');

if (!process.env.YPERSISTENCE) throw new Error('YPERSISTENCE must name the LevelDB directory');
const port = Number(process.argv[2]);
const server = http.createServer((_req, res) => res.end('ok'));
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (conn, req) => setupWSConnection(conn, req, { gc: true }));
server.on('upgrade', (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
);
server.listen(port, '127.0.0.1');
