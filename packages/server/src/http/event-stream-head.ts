import type { ServerResponse } from 'node:http';

/** Answers with the head of a Server-Sent Events stream that proxies must not buffer or transform. */
export function writeEventStreamHead(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
}
