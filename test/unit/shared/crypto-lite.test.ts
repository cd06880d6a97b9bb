// crypto-lite takes Bun's native hasher in the standalone build and node:crypto under Node; the
// chain names built from it are a contract with the Go plugins, so both paths must give the
// same digests, and the random bytes must be random.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes, sha512Hex } from '../../../shared/base/crypto-lite';

const bun = path.resolve(__dirname, '../../../../node_modules/@oven/bun-linux-x64/bin/bun');
const module_ = path.resolve(__dirname, '../../../shared/base/crypto-lite.js');
const inputs = ['', 'abc', 'cbr0c0ffee', 'name with "quotes" and ünïcödé ✓', 'x'.repeat(1000)];

describe('crypto-lite', () => {
  it('sha512Hex equals SHA-512 of the UTF-8 bytes (FIPS 180-2 "abc" vector)', () => {
    assert.equal(
      sha512Hex('abc'),
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    for (const s of inputs) assert.equal(sha512Hex(s), createHash('sha512').update(s, 'utf8').digest('hex'));
  });

  it('under Bun (the standalone build) it uses Bun.CryptoHasher and gives the same digests', { skip: !fs.existsSync(bun) && `no bun at ${bun}` }, () => {
    const script = `const m = require(${JSON.stringify(module_)});
      if (typeof Bun.CryptoHasher !== 'function') throw new Error('no Bun.CryptoHasher');
      process.stdout.write(JSON.stringify({ h: ${JSON.stringify(inputs)}.map(m.sha512Hex), r: m.randomBytes(16).toString('hex') }));`;
    const out = JSON.parse(execFileSync(bun, ['-e', script], { encoding: 'utf8' }));
    assert.deepEqual(out.h, inputs.map((s) => createHash('sha512').update(s, 'utf8').digest('hex')));
    assert.match(out.r, /^[0-9a-f]{32}$/);
  });

  it('randomBytes gives n bytes, different each time', () => {
    assert.equal(randomBytes(4).length, 4);
    const seen = new Set(Array.from({ length: 64 }, () => randomBytes(8).toString('hex')));
    assert.equal(seen.size, 64);
  });
});
