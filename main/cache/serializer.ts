import { decode, encode } from '@msgpack/msgpack';

/** Turns a value into bytes once; the same bytes go to L2 and L3 (L1 keeps the live value). */
export interface Serializer {
  readonly name: string;
  encode(value: unknown): Buffer;
  decode(bytes: Buffer): unknown;
}

export const jsonSerializer: Serializer = {
  name: 'json',
  encode: (value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8'),
  decode: (bytes) => JSON.parse(bytes.toString('utf8')) as unknown,
};

/** msgpack: smaller and faster for binary-heavy values; keeps Dates and binary (Uint8Array) values. */
export function msgpackSerializer(): Serializer {
  return {
    name: 'msgpack',
    encode: (value) => Buffer.from(encode(value)),
    decode: (bytes) => decode(bytes),
  };
}
