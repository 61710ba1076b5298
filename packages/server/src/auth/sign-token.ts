import { SignJWT } from 'jose';
import type { Role } from './roles.js';

export interface TokenRequest {
  secret: string;
  user: string;
  name?: string;
  /** Room glob → role, e.g. `{ "team-42/*": "editor" }`. */
  rooms: Record<string, Role>;
  /** jose time span: "90s", "15m", "1h", "7d". */
  ttl: string;
  audience?: string;
  issuer?: string;
}

const TTL = /^\d+\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|weeks?)$/i;

/** An HS256 token in the shape the JwtAuthenticator expects (`tandem token` prints one). */
export async function signToken(req: TokenRequest): Promise<string> {
  if (!TTL.test(req.ttl)) throw new Error(`--ttl must look like 90s, 15m, 1h or 7d (got "${req.ttl}")`);
  let jwt = new SignJWT({ rooms: req.rooms, ...(req.name ? { name: req.name } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(req.user)
    .setIssuedAt()
    .setExpirationTime(req.ttl);
  if (req.audience) jwt = jwt.setAudience(req.audience);
  if (req.issuer) jwt = jwt.setIssuer(req.issuer);
  return jwt.sign(new TextEncoder().encode(req.secret));
}
