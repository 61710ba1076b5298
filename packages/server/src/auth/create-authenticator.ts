import type { Config } from '../ops/config.js';
import { OpenAuthenticator, type Authenticator } from './authenticator.js';
import { DevAuthenticator } from './dev-authenticator.js';
import { JwtAuthenticator } from './jwt-authenticator.js';

/** The authenticator the config asks for: JWT (secret or JWKS), dev headers, or open. */
export function createAuthenticator(config: Config): Authenticator {
  if (config.jwtSecret || config.jwksUrl) {
    return new JwtAuthenticator({
      secret: config.jwtSecret,
      jwksUrl: config.jwksUrl,
      audience: config.jwtAudience,
      issuer: config.jwtIssuer,
      cookieName: config.authCookie,
      maxAgeSec: config.jwtMaxAge,
    });
  }
  if (config.devAuth) return new DevAuthenticator();
  return new OpenAuthenticator();
}
