import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isEmptyDNS, parseResolvConf, readResolvConf } from '../../../plugins/host-local/dns';

test('simple', () => {
  assert.deepEqual(parseResolvConf('nameserver 10.1.2.123\n'), { nameservers: ['10.1.2.123'] });
});

test('comments, blank lines, short lines, unknown keywords', () => {
  const text = '# a comment\n; another\n\n   nameserver 10.1.2.123 # trailing\nnameserver\nsortlist 1.2.3.4\n  ;nameserver 9.9.9.9\nnameserver\t::1\n';
  assert.deepEqual(parseResolvConf(text), { nameservers: ['10.1.2.123', '::1'] });
});

test('all fields; options accumulate; CRLF tolerated', () => {
  const text = 'nameserver 10.1.2.123\r\nnameserver 10.1.2.124\r\ndomain example.com\r\nsearch example.com example.net\r\noptions ndots:5 timeout:2\r\noptions attempts:3\r\n';
  assert.deepEqual(parseResolvConf(text), {
    nameservers: ['10.1.2.123', '10.1.2.124'],
    domain: 'example.com',
    search: ['example.com', 'example.net'],
    options: ['ndots:5', 'timeout:2', 'attempts:3'],
  });
});

test('a later search line replaces an earlier one (glibc)', () => {
  assert.deepEqual(parseResolvConf('search a.example\nsearch b.example c.example\n').search, ['b.example', 'c.example']);
});

test('empty file → empty DNS; reading a missing file names it', () => {
  assert.equal(isEmptyDNS(parseResolvConf('')), true);
  assert.equal(isEmptyDNS(parseResolvConf('domain x')), false);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-dns-'));
  try {
    const f = path.join(dir, 'resolv.conf');
    fs.writeFileSync(f, 'nameserver 192.0.2.53\n');
    assert.deepEqual(readResolvConf(f), { nameservers: ['192.0.2.53'] });
    assert.throws(() => readResolvConf(path.join(dir, 'missing')), (e: { code: number; message: string }) =>
      e.code === 999 && e.message === `cannot read resolvConf ${path.join(dir, 'missing')}: ENOENT`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
