import { parseConfig } from '../ops/config.js';
import { startServer } from '../server.js';
import { openApiToMarkdown, type OpenApiDoc } from './openapi-markdown.js';

/** The OpenAPI document of a default server, as markdown (docs/api.md). */
export async function renderApiReference(): Promise<string> {
  const server = await startServer(parseConfig({ port: 0, store: 'memory', revisionIntervalMs: 0 }));
  try {
    const res = await fetch(`${server.httpUrl}/v1/openapi.json`);
    return openApiToMarkdown((await res.json()) as OpenApiDoc);
  } finally {
    await server.drain();
  }
}
