// The floor DESIGN §8 compares against: a plain `ws` relay with no document, no coalescing and no
// persistence. It answers a sync step 1 with an empty step 2 and forwards every other message to the
// room's other sockets, so the same load generator drives it.
const http = require('node:http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
// messageSync, syncStep2, an empty Yjs update ([0, 0]) as a length-prefixed byte array.
const EMPTY_STEP2 = Buffer.from([0, 1, 2, 0, 0]);
const rooms = new Map();
const server = http.createServer((_req, res) => res.end('ok'));
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const name = req.url ?? '/';
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(ws);
  ws.on('message', (data) => {
    if (data[0] === 0 && data[1] === 0) return ws.send(EMPTY_STEP2);
    for (const other of room) if (other !== ws) other.send(data);
  });
  ws.on('close', () => {
    room.delete(ws);
    if (room.size === 0) rooms.delete(name);
  });
});
server.listen(port, '127.0.0.1');
