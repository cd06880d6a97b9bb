import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatChainName,
  formatChainNameWithPrefix,
  formatComment,
  formatHashWithPrefix,
  goQuote,
  shortHash,
} from '../../../shared/netfilter/names';

const LONG_ID =
  'icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y';

test('formatChainName: reference vectors (pkg/utils)', () => {
  assert.equal(formatChainName('test', '1234'), 'CNI-2bbe0c48b91a7d1b8a6753a8');
  assert.equal(formatChainName('testalongnamethatdoesnotmakesense', '1234'), 'CNI-374f33fe84ab0ed84dcdebe3');
  assert.equal(formatChainName('test', '1234').length, 28);
  assert.notEqual(formatChainName('testalongnamethatdoesnotmakesense', '1235'), formatChainName('testalongnamethatdoesnotmakesense', '1234'));
});

test('formatChainNameWithPrefix: reference vectors incl. portmap DN chains', () => {
  assert.equal(formatChainNameWithPrefix('test', '1234', 'PREFIX-'), 'CNI-PREFIX-2bbe0c48b91a7d1b8');
  assert.equal(formatChainNameWithPrefix('testalongnamethatdoesnotmakesense', '1234', 'PREFIX-'), 'CNI-PREFIX-374f33fe84ab0ed84');
  assert.equal(formatChainNameWithPrefix('testNetName', LONG_ID, 'DN-'), 'CNI-DN-bfd599665540dd91d5d28');
  assert.equal(formatChainNameWithPrefix('test', LONG_ID, 'DN-'), 'CNI-DN-67e92b96e692a494b6b85');
  assert.throws(() => formatChainNameWithPrefix('test', '1234', 'PREFIX-'.repeat(4)), /invalid length/);
});

test('formatHashWithPrefix: prefix, length, determinism, limits', () => {
  assert.ok(formatHashWithPrefix(10, 'AAA', 'some string').startsWith('AAA'));
  assert.equal(formatHashWithPrefix(15, 'AAA', 'some string').length, 15);
  assert.equal(formatHashWithPrefix(5, 'AAA', 'some string').length, 5);
  assert.equal(formatHashWithPrefix(10, 'AAA', 'x'), formatHashWithPrefix(10, 'AAA', 'x'));
  assert.throws(() => formatHashWithPrefix(3, 'AAA', 's'), /invalid length/);
  assert.throws(() => formatHashWithPrefix(0, '', 's'), /invalid length/);
  assert.throws(() => formatHashWithPrefix(129, '', 's'), /invalid length/);
  assert.equal(formatHashWithPrefix(128, '', 's').length, 128);
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(formatHashWithPrefix(8, '', `string ${i}`));
  assert.equal(seen.size, 1000);
});

test('shortHash: the H() vectors of the nftables ipmasq comments', () => {
  assert.equal(shortHash('unit-test'), '6fd94d501e58f0aa');
  assert.equal(shortHash('eth0:one'), '287fc69eff0574a2');
});

test('formatComment: Go %q quoting', () => {
  assert.equal(formatComment('cbr0', 'abc'), 'name: "cbr0" id: "abc"');
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('tab\there\n'), '"tab\\there\\n"');
  assert.equal(goQuote('\x01\x7f'), '"\\x01\\x7f"');
  assert.equal(goQuote('é'), '"é"');
  assert.equal(goQuote('\u0085'), '"\\u0085"');
});
