import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator } from '../src/auth/jwt-authenticator.js';
import type { TandemServer } from '../src/server.js';
import { eventually } from './support/eventually.js';
import { startTestServer } from './support/server.js';
import { TestPeer } from './support/test-peer.js';

describe('JWKS (RS256/ES256) with key rotation', () => {
  let jwksServer: Server;
  let keys: JWK[] = [];
  let jwksUrl = '';
  let server: TandemServer;

  beforeAll(async () => {
    jwksServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    await server?.drain();
    jwksServer.close();
  });

  async function keyPair(alg: 'RS256' | 'ES256', kid: string) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  }
  const sign = (alg: string, kid: string, key: Parameters<SignJWT['sign']>[0], user = 'ada') =>
    new SignJWT({ rooms: { '**': 'editor' } })
      .setProtectedHeader({ alg, kid })
      .setSubject(user)
      .setExpirationTime('1h')
      .sign(key);
  const connect = async (t: string): Promise<{ code: number | null; peer: TestPeer }> => {
    const peer = new TestPeer(`${server.syncUrl}/jwks-room?token=${t}`);
    const outcome = await Promise.race([
      peer.closed.then((c) => c.code),
      eventually(() => expect(peer.synced).toBe(true)).then(() => null),
    ]);
    peer.terminate();
    return { code: outcome, peer };
  };

  it('accepts tokens from the key set, picks up rotated keys, and refuses unknown ones', async () => {
    const first = await keyPair('RS256', 'k1');
    keys = [first.jwk];
    server = await startTestServer({ jwksUrl });
    expect((await connect(await sign('RS256', 'k1', first.privateKey))).code).toBeNull();
    await server.drain();

    // Same, with a short refetch cooldown so the test need not wait jose's default 30 s.
    server = await startTestServer({}, { authenticator: new JwtAuthenticator({ jwksUrl, jwksCooldownMs: 100 }) });
    expect((await connect(await sign('RS256', 'k1', first.privateKey))).code).toBeNull();
    // Rotation: a new key appears in the set; a token with its kid triggers a refetch.
    const second = await keyPair('ES256', 'k2');
    keys = [first.jwk, second.jwk];
    await new Promise((r) => setTimeout(r, 150));
    expect((await connect(await sign('ES256', 'k2', second.privateKey))).code).toBeNull();

    // A key the set never had is refused.
    const rogue = await keyPair('RS256', 'k2');
    expect((await connect(await sign('RS256', 'k2', rogue.privateKey))).code).toBe(4401);
    // HS256 tokens are not accepted in JWKS mode, whatever they claim.
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('x')
      .sign(new Uint8Array(32));
    expect((await connect(hs)).code).toBe(4401);
  });
});
