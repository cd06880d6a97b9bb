// Random bytes and SHA-512 without loading `node:crypto` under Bun. In the standalone build,
// the first require('node:crypto') costs about 3.5 ms of every plugin call (measured in a
// `bun build --compile --bytecode` executable), while Bun's native hasher and Web Crypto's
// getRandomValues cost about 0.1 ms. Under Node (the ncc build) Web Crypto is a global too, and
// `node:crypto` is loaded only when a hash is first needed.

interface BunHasher {
  update(data: string): BunHasher;
  digest(encoding: 'hex'): string;
}

type BunCryptoHasher = new (algorithm: string) => BunHasher;

// Looked up on first use: the getter may initialise Bun's crypto, which most calls never need.
const bunHasher = (): BunCryptoHasher | undefined => (globalThis as { Bun?: { CryptoHasher?: BunCryptoHasher } }).Bun?.CryptoHasher;

/** `n` cryptographically random bytes (Web Crypto: Node >= 19 and Bun expose it globally). */
export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  globalThis.crypto.getRandomValues(b);
  return b;
}

/** Hex SHA-512 of the UTF-8 bytes of `s`. */
export function sha512Hex(s: string): string {
  const Hasher = bunHasher();
  if (Hasher) return new Hasher('sha512').update(s).digest('hex');
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha512').update(s, 'utf8').digest('hex');
}
