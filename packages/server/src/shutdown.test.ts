import { describe, expect, it } from 'vitest';
import { Shutdown } from './shutdown.js';

describe('Shutdown', () => {
  it('runs phases in order, each phase last-registered first, each teardown once', async () => {
    const ran: string[] = [];
    const shutdown = new Shutdown();
    shutdown.onClose('storage', () => ran.push('store'));
    shutdown.onClose('services', () => ran.push('extensions'));
    shutdown.onClose('rooms', () => ran.push('rooms'));
    shutdown.onClose('services', async () => {
      await new Promise((r) => setTimeout(r, 5));
      ran.push('events');
    });
    shutdown.onClose('background', () => ran.push('bus'));
    shutdown.onClose('http', () => ran.push('http'));
    shutdown.onClose('services', () => ran.push('sockets'));
    await shutdown.run();
    expect(ran).toEqual(['sockets', 'events', 'extensions', 'rooms', 'http', 'bus', 'store']);
    await shutdown.run();
    expect(ran).toHaveLength(7);
  });
});
