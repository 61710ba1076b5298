import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { IncomingMessage } from 'node:http';
import { TandemError } from '../errors.js';
import type { Authenticator, Principal } from './authenticator.js';
import { findToken } from './credentials.js';
import type { Grant } from './room-pattern.js';
import { isRole } from './roles.js';

export interface JwtAuthenticatorOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** JWKS URL for RS256/ES256 (keys cached, refetched on an unknown `kid`, so rotation just works). */
  jwksUrl?: string;
  audience?: string;
  issuer?: string;
  /** Name of the cookie that may carry the token. */
  cookieName?: string;
  /**
   * Tokens must carry `exp`, unless this is set (seconds): then a token without `exp` but with `iat`
   * is valid until `iat` plus this long. A token with neither would be valid forever, so it is refused.
   */
  maxAgeSec?: number;
  /** Tolerated clock skew for exp/nbf, in seconds. */
  clockToleranceSec?: number;
  /**
   * Minimum time between two fetches of the key set (default 30 s). A token with an unknown `kid`
   * refetches the set, so a rotated key works once the cooldown since the last fetch has passed;
   * the cooldown keeps a flood of made-up kids from hammering the JWKS endpoint.
   */
  jwksCooldownMs?: number;
}

const MAX_GRANTS = 100;
const MAX_PATTERN_LENGTH = 256;

/**
 * JWT via jose. Claims: `sub` (user id, required), `name`, `rooms` (map of room glob → role), and
 * the standard `exp`, `nbf`, `aud`, `iss`. Only the configured algorithms are accepted, so
 * `alg: none` and keys of the wrong kind are refused.
 */
export class JwtAuthenticator implements Authenticator {
  readonly usesCookies: boolean;
  readonly open = false;
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly options: JwtAuthenticatorOptions) {
    if (options.secret) {
      this.key = new TextEncoder().encode(options.secret);
      this.algorithms = ['HS256'];
    } else if (options.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(options.jwksUrl), {
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
        cacheMaxAge: 600_000,
      });
      this.algorithms = ['RS256', 'ES256', 'PS256', 'EdDSA'];
    } else {
      throw new Error('JwtAuthenticator needs a secret or a JWKS URL');
    }
    this.usesCookies = options.cookieName !== undefined;
  }

  async authenticate(req: IncomingMessage): Promise<Principal> {
    const found = findToken(req, this.options.cookieName);
    if (!found) throw new TandemError('unauthenticated', 'missing token');
    return this.verifyToken(found.token);
  }

  async verifyToken(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, this.key as Uint8Array, {
        algorithms: this.algorithms,
        audience: this.options.audience,
        issuer: this.options.issuer,
        clockTolerance: this.options.clockToleranceSec ?? 5,
        requiredClaims: ['sub'],
      });
      payload = verified.payload;
    } catch (err) {
      const generic = err instanceof joseErrors.JOSEError && err.code === joseErrors.JOSEError.code;
      if (err instanceof joseErrors.JWKSTimeout || generic || !(err instanceof joseErrors.JOSEError)) {
        // The key set could not be fetched: not the client's fault, so "try again", not "forbidden".
        throw new TandemError('auth_unavailable', 'cannot verify tokens right now; try again');
      }
      // Never echo the token or jose's full message (it can quote claims); say what kind of failure.
      throw new TandemError('unauthenticated', describeJwtError(err));
    }
    return {
      user: payload.sub!,
      ...(typeof payload.name === 'string' ? { name: payload.name } : {}),
      grants: parseRoomsClaim(payload.rooms),
      expiresAt: this.expiryOf(payload),
    };
  }

  /** When the credential ends (ms since epoch): its `exp`, or `iat` plus the configured max age. */
  private expiryOf(payload: JWTPayload): number {
    if (payload.exp !== undefined) return payload.exp * 1000;
    const maxAge = this.options.maxAgeSec ?? 0;
    if (maxAge <= 0) throw new TandemError('unauthenticated', 'token has no "exp" claim; tokens must expire');
    if (typeof payload.iat !== 'number') {
      throw new TandemError('unauthenticated', 'a token without "exp" needs an "iat" claim');
    }
    const expiresAt = (payload.iat + maxAge) * 1000;
    if (expiresAt + (this.options.clockToleranceSec ?? 5) * 1000 <= Date.now()) {
      throw new TandemError('unauthenticated', 'token expired');
    }
    return expiresAt;
  }
}

function describeJwtError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'token not yet valid';
    return `token claim "${err.claim}" is invalid`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'token signed with an unknown key';
  return 'token is invalid';
}

function parseRoomsClaim(claim: unknown): Grant[] {
  if (claim === undefined) return [];
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) {
    throw new TandemError('unauthenticated', 'token claim "rooms" must be an object of pattern → role');
  }
  const entries = Object.entries(claim as Record<string, unknown>);
  if (entries.length > MAX_GRANTS) throw new TandemError('unauthenticated', 'token claim "rooms" has too many entries');
  return entries.map(([pattern, role]) => {
    if (!isRole(role) || pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
      throw new TandemError(
        'unauthenticated',
        `token claim "rooms" has an invalid entry for "${pattern.slice(0, 64)}"`,
      );
    }
    return { pattern, role };
  });
}
