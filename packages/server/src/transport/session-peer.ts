import type { Principal } from '../auth/authenticator.js';
import type { TandemError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { TransportName } from '../extensions/extension.js';
import type { Peer } from '../rooms/peer.js';

/**
 * A room peer as a SyncSession drives it, whatever carries its frames (a WebSocket, or the HTTP
 * fallback's stream and POSTs).
 */
export interface SessionPeer extends Peer {
  tandem: boolean;
  readonly transport: TransportName;
  readonly room: string;
  /** The credential the peer was admitted with; null until authenticated. */
  readonly principal: Principal | null;
  /** Set by any frame from the client; the transport's liveness check clears it. */
  alive: boolean;
  /** Whether frames from the peer are still applied. */
  readonly acceptsInput: boolean;
  /** Adopts a (new) credential: identity and when the session must end. */
  authenticate(principal: Principal): void;
  /** Ends the session at the client's next chance, without dropping what it already sent (drain). */
  closeGracefully(error: TandemError): void;
  /** Stops timers; called once the transport is gone. */
  dispose(): void;
}

/** What every transport does when one of its peers fails or sends: count it and say why. */
export function reportingHooks(
  metrics: Metrics,
  log: Logger,
): { onFail(peer: SessionPeer, error: TandemError): void; onSend(): void } {
  return {
    onFail: (peer, error) => {
      metrics.refusals.inc({ reason: error.code });
      log.info(
        { peer: peer.id, user: peer.user, room: peer.room, code: error.code, reason: error.message },
        'closing peer',
      );
    },
    onSend: () => void metrics.framesOutPending++,
  };
}
