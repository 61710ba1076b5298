import { ProtocolError } from './errors.js';

// 7 bytes of varuint carry 49 bits, comfortably inside Number.MAX_SAFE_INTEGER; anything longer is
// either hostile or corrupt, and we refuse it instead of looping over garbage.
const MAX_VARUINT_BYTES = 7;
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A bounds-checked cursor over one frame. lib0's decoder trusts its input (a truncated varint or a
 * huge length prefix turns into a RangeError or a read past the end); frames come from the network,
 * so every read here checks what is left first.
 */
export class FrameReader {
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  readVarUint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < MAX_VARUINT_BYTES; i++) {
      if (this.pos >= this.bytes.length) {
        throw new ProtocolError('truncated', 'frame ends inside a varint');
      }
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    throw new ProtocolError('varint_overflow', `varint longer than ${MAX_VARUINT_BYTES} bytes`);
  }

  /** A length-prefixed byte array, returned as a view (no copy). */
  readVarBytes(): Uint8Array {
    const length = this.readVarUint();
    if (length > this.remaining) {
      throw new ProtocolError(
        'length_out_of_range',
        `length prefix ${length} exceeds the ${this.remaining} bytes left in the frame`,
      );
    }
    const view = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }

  readVarString(): string {
    const bytes = this.readVarBytes();
    try {
      return textDecoder.decode(bytes);
    } catch {
      throw new ProtocolError('invalid_payload', 'string is not valid UTF-8');
    }
  }

  /** Everything after the cursor: used where the payload runs to the end of the frame. */
  readRest(): Uint8Array {
    const view = this.bytes.subarray(this.pos);
    this.pos = this.bytes.length;
    return view;
  }

  expectEnd(): void {
    if (this.remaining !== 0) {
      throw new ProtocolError('trailing_bytes', `${this.remaining} unexpected bytes after message`);
    }
  }
}
