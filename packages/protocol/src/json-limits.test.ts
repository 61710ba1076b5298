import { describe, expect, it } from 'vitest';
import { decodeMessage } from './decode.js';
import { encodeHello } from './encode.js';
import { ProtocolError } from './errors.js';
import { jsonTextDepth, MAX_JSON_DEPTH, valueDepth } from './json-limits.js';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON nesting limits', () => {
  it('counts the nesting of JSON text, ignoring brackets inside strings', () => {
    expect(jsonTextDepth('1')).toBe(0);
    expect(jsonTextDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonTextDepth('{"a":"[[[[\\"[[["}')).toBe(1);
    expect(jsonTextDepth(nested(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH);
  });

  it('stops scanning as soon as the limit is passed (a 100,000-deep text costs nothing more)', () => {
    expect(jsonTextDepth(nested(100_000))).toBe(MAX_JSON_DEPTH + 1);
  });

  it('counts the nesting of decoded values without recursion', () => {
    expect(valueDepth('x')).toBe(0);
    expect(valueDepth({ a: [1, { b: new Uint8Array(3) }] })).toBe(3);
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(valueDepth(deep)).toBe(MAX_JSON_DEPTH + 1);
    expect(valueDepth(JSON.parse(nested(MAX_JSON_DEPTH)))).toBe(MAX_JSON_DEPTH);
  });

  it('a hello frame nested past the limit is refused before it is parsed', () => {
    const frame = encodeHello({ capabilities: [] });
    expect(() => decodeMessage(frame)).not.toThrow();
    const bomb = new TextEncoder().encode(`{"x":${nested(5000)}}`);
    // Same framing as encodeHello: type 100, then the JSON as a var string.
    const hostile = new Uint8Array([100, ...varUint(bomb.length), ...bomb]);
    expect(() => decodeMessage(hostile)).toThrow(ProtocolError);
    expect(() => decodeMessage(hostile)).toThrow(/deeper than 64/);
  });
});

function varUint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
