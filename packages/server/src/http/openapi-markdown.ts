/** Renders the OpenAPI document as docs/api.md, so the reference can never drift from the routes. */

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  required?: string[];
  description?: string;
  default?: unknown;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
  description?: string;
}
interface Operation {
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApiDoc {
  info: { title: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
}

const PREFACE = `All endpoints are under \`/v1\`, take and return JSON unless noted, and fail with
\`{"error": {"code": "<stable_code>", "message": "<human readable>"}}\`:

| status | codes |
|---|---|
| 400 | \`invalid_request\` (also JSON nested deeper than 64 levels), \`invalid_update\`, \`invalid_room_name\` |
| 401 | \`unauthenticated\` |
| 403 | \`forbidden\`, \`origin_not_allowed\` |
| 404 | \`not_found\`, \`room_not_found\` |
| 409 | \`version_conflict\` |
| 422 | \`idempotency_key_reused\` |
| 413 | \`message_too_big\`, \`document_too_large\` |
| 429 | \`rate_limited\`, \`too_many_connections\` (SSE streams count with sockets per address) |
| 500 | \`internal\` (a bug: logged with the request) |
| 503 | \`room_load_failed\`, \`room_reset\`, \`auth_unavailable\` |

Roles: reads need viewer, writes editor, collaborators and deletion owner (see \`auth.md\`). Room names
containing \`/\` are URL-encoded in paths (\`team-42%2Fnotes\`). Versions (\`version\`, \`ETag\`) change
with every change of the document; pass one back as \`If-Match\` or \`baseVersion\` to get
\`409 version_conflict\` instead of overwriting a newer state.

**Events** share one envelope everywhere (socket frame, SSE, polling, webhooks):
\`{id, type, room, ts, user, data}\`; \`id\` is a per-room increasing integer (as a string). Types starting
with \`collab.\` are the server's own: \`collab.user_joined\`, \`collab.user_left\`,
\`collab.collaborator_added\`, \`collab.collaborator_removed\`, \`collab.revision_created\`,
\`collab.room_updated\` (at most once per \`--room-updated-debounce-ms\`). \`collab.user_joined\` marks a user's
first connection to the room on an instance and \`collab.user_left\` their last: a second tab, or the
WebSocket that takes over from an HTTP fallback session, is no news.

**Webhooks** (\`--webhook-url\`, repeatable or comma-separated, with \`--webhook-secret\`): every stored
event is POSTed to each URL as its JSON envelope, with headers \`Tandem-Signature: t=<unix seconds>,v1=<hex>\`
where \`v1 = HMAC-SHA256(secret, "<t>.<raw body>")\`, \`Tandem-Event-Id: <room>:<id>\` (dedupe on it: delivery
is at least once) and \`Tandem-Delivery-Attempt\`. Any non-2xx answer or a timeout (10 s) is retried with
exponential backoff and jitter (1 s doubling to 5 min, 12 attempts, then given up: logged and counted as
\`tandem_webhook_failures_total{reason="abandoned"}\`). Reject signatures whose \`t\` is more than a few
minutes old. Delivery survives restarts and crashes: each URL has a cursor in the store over the order in
which events were stored, moved past an event only once it and every event before it were delivered (or
given up); up to 4 deliveries per URL are in flight at once, so events can arrive slightly out of order.
A URL seen for the first time starts at the newest event. Events deleted by retention before a slow
receiver caught up are not delivered.

Also served: \`GET /healthz\` (process alive), \`GET /readyz\` (store reachable, able to commit, and not
draining; 503 \`{"status": "store_unreachable" | "store_cannot_commit" | "store_timeout" | "draining"}\`
otherwise: the store gets 2 s to answer, so a frozen database fails readiness instead of hanging it; a ready
instance whose bus to the other instances is down answers 200 \`{"status": "ready", "bus": "down"}\`), \`GET /metrics\` (Prometheus), \`GET /v1/openapi.json\` (this reference, OpenAPI 3.1).`;

function typeOf(schema: Schema | undefined): string {
  if (!schema) return 'any';
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map(typeOf).join(' \\| ');
  if (schema.type === 'array') return `${typeOf(schema.items)}[]`;
  if (schema.type === 'object' && schema.properties) {
    const fields = Object.entries(schema.properties).map(
      ([k, v]) => `${k}${schema.required?.includes(k) ? '' : '?'}: ${typeOf(v)}`,
    );
    return `{${fields.join(', ')}}`;
  }
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ');
  return schema.type ?? 'any';
}

export function openApiToMarkdown(doc: OpenApiDoc): string {
  const lines = [
    '<!-- Generated from the route schemas by `npm run docs:api`; do not edit by hand. -->',
    '',
    `# ${doc.info.title}`,
    '',
    PREFACE,
    '',
  ];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      lines.push(`## ${method.toUpperCase()} \`${path}\``, '');
      if (op.summary) lines.push(op.summary, '');
      if (op.description) lines.push(op.description, '');
      const params = op.parameters ?? [];
      if (params.length > 0) {
        lines.push('| parameter | in | type | notes |', '|---|---|---|---|');
        for (const p of params) {
          const notes = [
            p.required ? 'required' : '',
            p.schema?.default !== undefined ? `default ${JSON.stringify(p.schema.default)}` : '',
            p.description ?? p.schema?.description ?? '',
          ]
            .filter(Boolean)
            .join('; ');
          lines.push(`| \`${p.name}\` | ${p.in} | ${typeOf(p.schema)} | ${notes} |`);
        }
        lines.push('');
      }
      for (const [type, body] of Object.entries(op.requestBody?.content ?? {})) {
        lines.push(`Body (\`${type}\`): \`${typeOf(body.schema)}\``, '');
      }
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const json = response.content?.['application/json']?.schema;
        lines.push(
          `- **${status}**${json ? `: \`${typeOf(json)}\`` : response.description ? `: ${response.description}` : ''}`,
        );
      }
      lines.push('');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
