import { AuthType, MessageType, SyncType } from './constants.js';
import { ProtocolError } from './errors.js';
import { jsonTextDepth, MAX_JSON_DEPTH } from './json-limits.js';
import type { EventEnvelope, Hello, Message, PublishRequest, PublishResult, RoomStatus } from './messages.js';
import { FrameReader } from './reader.js';

/**
 * Decodes one binary frame. Throws ProtocolError for anything malformed: truncated varints, length
 * prefixes past the end, unknown types, trailing bytes, invalid JSON. Yjs and awareness payloads are
 * only framed here; their contents are validated where they are applied.
 */
export function decodeMessage(frame: Uint8Array): Message {
  const reader = new FrameReader(frame);
  const type = reader.readVarUint();
  const message = decodeBody(type, reader);
  reader.expectEnd();
  return message;
}

function decodeBody(type: number, reader: FrameReader): Message {
  switch (type) {
    case MessageType.sync:
      return decodeSync(reader);
    case MessageType.awareness:
      return { type: 'awareness', update: reader.readVarBytes() };
    case MessageType.auth: {
      const authType = reader.readVarUint();
      if (authType !== AuthType.permissionDenied) {
        throw new ProtocolError('invalid_payload', `unknown auth message type ${authType}`);
      }
      return { type: 'auth-denied', reason: reader.readVarString() };
    }
    case MessageType.queryAwareness:
      return { type: 'query-awareness' };
    case MessageType.hello:
      return { type: 'hello', hello: parseHello(readJson(reader)) };
    case MessageType.ack:
      return { type: 'ack', seq: reader.readVarUint() };
    case MessageType.event:
      return { type: 'event', event: parseEvent(readJson(reader)) };
    case MessageType.error:
      return { type: 'error', code: reader.readVarString(), message: reader.readVarString() };
    case MessageType.status:
      return { type: 'status', status: parseStatus(readJson(reader)) };
    case MessageType.token: {
      const token = reader.readVarString();
      if (token.length === 0 || token.length > 8192) {
        throw new ProtocolError('invalid_payload', 'token must be 1-8192 characters');
      }
      return { type: 'token', token };
    }
    case MessageType.ping:
      return { type: 'ping' };
    case MessageType.pong:
      return { type: 'pong' };
    case MessageType.publish:
      return { type: 'publish', publish: parsePublish(readJson(reader)) };
    case MessageType.published:
      return { type: 'published', published: parsePublished(readJson(reader)) };
    default:
      throw new ProtocolError('unknown_message_type', `unknown message type ${type}`);
  }
}

function decodeSync(reader: FrameReader): Message {
  const syncType = reader.readVarUint();
  switch (syncType) {
    case SyncType.step1:
      return { type: 'sync-step1', stateVector: reader.readVarBytes() };
    case SyncType.step2:
      return { type: 'sync-step2', update: reader.readVarBytes() };
    case SyncType.update:
      return { type: 'sync-update', update: reader.readVarBytes() };
    default:
      throw new ProtocolError('unknown_sync_type', `unknown sync message type ${syncType}`);
  }
}

function readJson(reader: FrameReader): unknown {
  const text = reader.readVarString();
  // Checked before parsing: a value nested deeper than this is refused however it would be used.
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
    throw new ProtocolError('invalid_payload', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError('invalid_payload', 'payload is not valid JSON');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseHello(value: unknown): Hello {
  if (!isRecord(value)) throw new ProtocolError('invalid_payload', 'hello must be an object');
  const hello: Hello = {};
  if (value.clientId !== undefined) {
    if (typeof value.clientId !== 'string' || value.clientId.length > 128) {
      throw new ProtocolError('invalid_payload', 'hello.clientId must be a string of at most 128 chars');
    }
    hello.clientId = value.clientId;
  }
  if (value.capabilities !== undefined) {
    const caps = value.capabilities;
    if (!Array.isArray(caps) || caps.length > 32 || !caps.every((c) => typeof c === 'string')) {
      throw new ProtocolError('invalid_payload', 'hello.capabilities must be at most 32 strings');
    }
    hello.capabilities = caps as string[];
  }
  return hello;
}

function parseEvent(value: unknown): EventEnvelope {
  if (
    !isRecord(value) ||
    typeof value.id !== 'string' ||
    typeof value.type !== 'string' ||
    typeof value.room !== 'string' ||
    typeof value.ts !== 'number' ||
    !(value.user === null || typeof value.user === 'string')
  ) {
    throw new ProtocolError('invalid_payload', 'event does not match {id, type, room, ts, user, data}');
  }
  return {
    id: value.id,
    type: value.type,
    room: value.room,
    ts: value.ts,
    user: value.user,
    data: value.data,
  };
}

const isRef = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 64;

function parsePublish(value: unknown): PublishRequest {
  if (!isRecord(value) || !isRef(value.ref) || typeof value.type !== 'string') {
    throw new ProtocolError('invalid_payload', 'publish must be {ref: 1-64 chars, type, data?, idempotencyKey?}');
  }
  const key = value.idempotencyKey;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 200)) {
    throw new ProtocolError('invalid_payload', 'publish.idempotencyKey must be 1-200 characters');
  }
  return {
    ref: value.ref,
    type: value.type,
    ...(value.data !== undefined ? { data: value.data } : {}),
    ...(key !== undefined ? { idempotencyKey: key } : {}),
  };
}

function parsePublished(value: unknown): PublishResult {
  if (isRecord(value) && isRef(value.ref)) {
    if (isRecord(value.error) && typeof value.error.code === 'string' && typeof value.error.message === 'string') {
      return { ref: value.ref, error: { code: value.error.code, message: value.error.message } };
    }
    if (value.event !== undefined) return { ref: value.ref, event: parseEvent(value.event) };
  }
  throw new ProtocolError('invalid_payload', 'published must be {ref, event} or {ref, error: {code, message}}');
}

function parseStatus(value: unknown): RoomStatus {
  if (
    !isRecord(value) ||
    typeof value.room !== 'string' ||
    typeof value.serverTime !== 'number' ||
    typeof value.peers !== 'number' ||
    typeof value.readOnly !== 'boolean'
  ) {
    throw new ProtocolError('invalid_payload', 'status does not match {room, serverTime, peers, readOnly}');
  }
  return { room: value.room, serverTime: value.serverTime, peers: value.peers, readOnly: value.readOnly };
}
