// Bridge DEL runs only the netfilter tool its ADD used (issue 16): teardownIPMasq with the
// expected backend tries it first and the other only when it held nothing of the attachment.
// Every tool is replaced (CNI_TS_<TOOL>) by a wrapper that logs its name and runs the real one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanupAllNetns, execIn, makeNetns } from '../helpers/netns';

const OUT = path.resolve(__dirname, '../..');
const ROOT = process.getuid?.() === 0;
const TOOLS = ['iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save', 'nft'];

let ns = '';
let tmp = '';
let logFile = '';
const env: Record<string, string> = {};

/** Runs `call` (ipmasq.js as m, mustParseCIDR as c) in a node process inside the namespace; returns the tools it ran. */
function masq(call: string): string[] {
  fs.writeFileSync(logFile, '');
  const script = `const m=require(${JSON.stringify(OUT + '/shared/netfilter/ipmasq.js')});const {mustParseCIDR:c}=require(${JSON.stringify(OUT + '/shared/ip/index.js')});${call};`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
}

const natRules = (): string[] =>
  [...execIn(ns, 'iptables-save', ['-t', 'nat']).split('\n'), ...execIn(ns, 'ip6tables-save', ['-t', 'nat']).split('\n')].filter((l) => l.includes('CNI-'));
const nftOurs = (): string[] => {
  const out = execIn(ns, 'nft', ['-j', 'list', 'ruleset']);
  return (JSON.parse(out).nftables as { rule?: { comment?: string } }[]).filter((o) => o.rule?.comment).map((o) => o.rule!.comment!);
};

const IPS = `[c('10.61.0.5/24')]`;

describe('bridge DEL: one netfilter tool (netns)', { skip: !ROOT && 'needs root' }, () => {
  before(() => {
    ns = makeNetns('nf1tool').name;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cts-nf1tool-'));
    logFile = path.join(tmp, 'tools.log');
    for (const t of TOOLS) {
      const real = execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8', env: { PATH: '/usr/sbin:/sbin:/usr/bin:/bin' } }).trim();
      const w = path.join(tmp, t);
      fs.writeFileSync(w, `#!/bin/sh\necho ${t} >> ${logFile}\nexec ${real} "$@"\n`, { mode: 0o755 });
      env[`CNI_TS_${t.toUpperCase().replace(/-/g, '_')}`] = w;
    }
  });
  after(() => {
    cleanupAllNetns();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('iptables ADD, DEL expecting iptables: iptables-restore only, rules gone', () => {
    masq(`m.setupIPMasq('iptables',${IPS},'onet','eth0','cid1')`);
    assert.equal(natRules().length, 4);
    assert.deepEqual(masq(`m.teardownIPMasq(${IPS},'onet','eth0','cid1','iptables')`), ['iptables-restore']);
    assert.deepEqual(natRules(), []);
  });

  test('nftables ADD, DEL expecting nftables: nft only, rules gone', () => {
    masq(`m.setupIPMasq('nftables',${IPS},'onet','eth0','cid2')`);
    assert.ok(nftOurs().some((c) => c.includes('id: cid2')));
    const ran = masq(`m.teardownIPMasq(${IPS},'onet','eth0','cid2','nftables')`);
    assert.ok(ran.length > 0 && ran.every((t) => t === 'nft'), ran.join(' '));
    assert.deepEqual(nftOurs(), []);
  });

  test('the backend changed since the ADD: the expected one holds nothing, the other is cleaned', () => {
    masq(`m.setupIPMasq('iptables',${IPS},'onet','eth0','cid3')`);
    const ran = masq(`m.teardownIPMasq(${IPS},'onet','eth0','cid3','nftables')`);
    assert.ok(ran.includes('nft') && ran.includes('iptables-restore'), ran.join(' '));
    assert.deepEqual(natRules(), []);
    masq(`m.setupIPMasq('nftables',${IPS},'onet','eth0','cid4')`);
    assert.ok(masq(`m.teardownIPMasq(${IPS},'onet','eth0','cid4','iptables')`).includes('nft'));
    assert.deepEqual(nftOurs(), []);
  });

  test('without an expected backend both are tried (the reference behaviour)', () => {
    masq(`m.setupIPMasq('iptables',${IPS},'onet','eth0','cid5')`);
    const ran = masq(`m.teardownIPMasq(${IPS},'onet','eth0','cid5')`);
    assert.ok(ran.includes('nft') && ran.includes('iptables-restore'), ran.join(' '));
    assert.deepEqual(natRules(), []);
  });
});
