import * as encoding from 'lib0/encoding';
import { AuthType, MessageType, SyncType } from './constants.js';
import type { EventEnvelope, Hello, PublishRequest, PublishResult, RoomStatus } from './messages.js';

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

function syncFrame(syncType: number, payload: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.sync);
    encoding.writeVarUint(e, syncType);
    encoding.writeVarUint8Array(e, payload);
  });
}

export const encodeSyncStep1 = (stateVector: Uint8Array): Uint8Array => syncFrame(SyncType.step1, stateVector);
export const encodeSyncStep2 = (update: Uint8Array): Uint8Array => syncFrame(SyncType.step2, update);
export const encodeSyncUpdate = (update: Uint8Array): Uint8Array => syncFrame(SyncType.update, update);

export function encodeAwareness(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.awareness);
    encoding.writeVarUint8Array(e, update);
  });
}

export function encodeQueryAwareness(): Uint8Array {
  return frame((e) => encoding.writeVarUint(e, MessageType.queryAwareness));
}

export function encodeAuthDenied(reason: string): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.auth);
    encoding.writeVarUint(e, AuthType.permissionDenied);
    encoding.writeVarString(e, reason);
  });
}

function jsonFrame(type: number, value: unknown): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, type);
    encoding.writeVarString(e, JSON.stringify(value));
  });
}

export const encodeHello = (hello: Hello): Uint8Array => jsonFrame(MessageType.hello, hello);
export const encodeEvent = (event: EventEnvelope): Uint8Array => jsonFrame(MessageType.event, event);
export const encodeStatus = (status: RoomStatus): Uint8Array => jsonFrame(MessageType.status, status);

/** "Every update you sent on this connection up to number `seq` is durable." */
export function encodeAck(seq: number): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.ack);
    encoding.writeVarUint(e, seq);
  });
}

export function encodeError(code: string, message: string): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.error);
    encoding.writeVarString(e, code);
    encoding.writeVarString(e, message);
  });
}

/** A refreshed credential for the current session (Tandem clients only). */
export const encodePublish = (publish: PublishRequest): Uint8Array => jsonFrame(MessageType.publish, publish);
export const encodePublished = (result: PublishResult): Uint8Array => jsonFrame(MessageType.published, result);

export const encodePing = (): Uint8Array => frame((e) => encoding.writeVarUint(e, MessageType.ping));
export const encodePong = (): Uint8Array => frame((e) => encoding.writeVarUint(e, MessageType.pong));

export function encodeToken(token: string): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.token);
    encoding.writeVarString(e, token);
  });
}
