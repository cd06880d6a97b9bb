// Every case of the bad-input corpus (test/corpus/<plugin>/*.json, see test/helpers/corpus.ts)
// on both builds, run the way a runtime runs a plugin, inside a throw-away "node" namespace that
// looks like a node with pods (test/helpers/pod-node.ts: uplink, cni0 with another pod, kube-
// proxy-ish iptables and nft rules, the other pod's ipMasq chain, host-local and flannel state, a
// valid subnet.env), and again on a node before its first pod (no cni0: an invalid ADD must not
// create it), one node per build and variant so the four lanes run side by side. Each case must fail with
// exit 1 and exactly one CNI error JSON on stdout (its code, a msg naming the field and value,
// no stack trace), and leave the node as it was: a host snapshot (links, addresses, routes,
// neighbours, FDB, iptables, nft, the state and input files; hostSnapshotAsync, the same text as
// hostSnapshot) is taken before the first case and after every case, the one after a case being
// the one before the next, and compared. No file may appear at the canary path hostile values
// aim at.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builds, type Build, tempDir } from '../helpers/plugins';
import { hostSnapshot, hostSnapshotAsync } from '../helpers/host-snapshot';
import { cleanupAllNetns, ipIn, ipJson } from '../helpers/netns';
import { makePodNode, OTHER_POD_MASQ_CHAIN } from '../helpers/pod-node';
import { caseEnv, CORPUS_PLUGINS, type CorpusCase, errorText, loadCorpus, stdinBytes, type Vars } from '../helpers/corpus';
import { SUPPORTED_VERSIONS } from '../../shared/cni/version';

const ROOT = process.getuid?.() === 0;
const CALL_TIMEOUT_MS = 20_000;
const ERROR_KEYS = new Set(['cniVersion', 'code', 'msg', 'details']);
const STACK_RE = /\n\s+at .+(:\d+:\d+\)?|\(native\))/;

interface Node {
  ns: string;
  container: string;
  state: string;
  /** Files the cases name but nothing may change: a regular file, the cases' subnet.env files. */
  inputs: string;
  canary: string;
  cleanup(): void;
}

/** The node every case of one build runs on (test/helpers/pod-node.ts) plus the cases' inputs. */
function makeNode(cases: readonly CorpusCase[], label: string, bare: boolean): Node {
  const pod = makePodNode(`corpus-${label}`, { bare });
  const inputsDir = tempDir('corpus-inputs');
  const canary = `/tmp/cts-corpus-pwn-${process.pid}-${label}`;
  const cleanup = (): void => {
    fs.rmSync(canary, { force: true, recursive: true });
    pod.cleanup();
    inputsDir.cleanup();
  };
  try {
    const inp = inputsDir.path;
    fs.writeFileSync(path.join(inp, 'not-a-dir'), 'a regular file, named where a directory belongs\n');
    fs.mkdirSync(path.join(inp, 'subnet'));
    cases.forEach((c, i) => {
      if (c.subnetEnv !== undefined) fs.writeFileSync(path.join(inp, 'subnet', `${i}.env`), c.subnetEnv);
    });
    return { ns: pod.ns, container: pod.container, state: pod.state, inputs: inp, canary, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

interface Call {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

/** Runs one plugin call in the node namespace; a plugin that stops reading stdin early is fine (EPIPE). */
function callPlugin(node: Node, file: string, env: Record<string, string>, input: Buffer): Promise<Call> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', node.ns, file], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      spawnError = `no exit within ${CALL_TIMEOUT_MS} ms`;
      p.kill('SIGKILL');
    }, CALL_TIMEOUT_MS);
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') spawnError = `stdin: ${e.message}`;
    });
    p.on('error', (e) => (spawnError = e.message));
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), error: spawnError });
    });
    p.stdin.end(input);
  });
}

/** Why the call's outcome is wrong for the case (empty: it is right). */
function judge(c: CorpusCase, r: Call): string[] {
  const problems: string[] = [];
  if (r.error) problems.push(`spawn: ${r.error}`);
  if (r.status !== 1) problems.push(`exit status ${r.status} (want 1)`);
  if (STACK_RE.test(r.stdout)) problems.push('stack trace on stdout');
  if (STACK_RE.test(r.stderr)) problems.push(`stack trace on stderr (a crash): ${r.stderr.slice(0, 400)}`);
  let e: Record<string, unknown> | undefined;
  try {
    const v = JSON.parse(r.stdout) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) e = v as Record<string, unknown>;
    else problems.push(`stdout is JSON but not an object: ${r.stdout.slice(0, 200)}`);
  } catch {
    problems.push(`stdout is not exactly one JSON document: ${JSON.stringify(r.stdout.slice(0, 300))}`);
  }
  if (e) {
    for (const k of Object.keys(e)) if (!ERROR_KEYS.has(k)) problems.push(`unexpected key ${k} in the error`);
    if (!(SUPPORTED_VERSIONS as readonly unknown[]).includes(e.cniVersion)) problems.push(`cniVersion ${JSON.stringify(e.cniVersion)} is not a version the plugin speaks`);
    if (typeof e.msg !== 'string' || e.msg === '') problems.push('msg missing');
    if (e.details !== undefined && typeof e.details !== 'string') problems.push('details is not a string');
    if (e.code !== c.code) problems.push(`code ${JSON.stringify(e.code)} (want ${c.code})`);
    if (!new RegExp(c.msg).test(errorText(e))) problems.push(`message ${JSON.stringify(errorText(e))} does not match /${c.msg}/`);
  }
  return problems;
}

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}: before ${JSON.stringify(x[i])}, after ${JSON.stringify(y[i])}`;
  }
  return '';
}

const corpus = loadCorpus();

/** Rule counters count the node's own traffic (an IGMP report, a neighbour probe), not config. */
const snap = async (node: Node): Promise<string> =>
  (await hostSnapshotAsync(node.ns, [node.state, node.inputs])).replace(/counter packets \d+ bytes \d+/g, 'counter');

/** A fresh node settles (carrier, multicast joins) before its baseline is taken. */
async function settledSnapshot(node: Node): Promise<string> {
  let last = await snap(node);
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const again = await snap(node);
    if (again === last) return again;
    last = again;
  }
  return last;
}

interface Lane {
  build: Build;
  /** 'pods' (cni0 and another pod) or 'bare' (no cni0). */
  variant: 'pods' | 'bare';
  node: Node;
  /** The last snapshot: taken before the first case, and after each case (= before the next). */
  snapshot: string;
}

/** Runs cases one after the other on a lane; returns a report line per failing case. */
async function runCases(lane: Lane, cases: ReadonlyArray<{ c: CorpusCase; i: number }>): Promise<string[]> {
  const { build: b, node } = lane;
  const failures: string[] = [];
  for (const { c, i } of cases) {
    const vars: Vars = {
      STATE: node.state,
      NETNS: node.container,
      NODE_NETNS: `/run/netns/${node.ns}`,
      CNI_PATH: b.dir,
      FILE: path.join(node.inputs, 'not-a-dir'),
      SUBNET_ENV: c.subnetEnv !== undefined ? path.join(node.inputs, 'subnet', `${i}.env`) : path.join(node.state, 'subnet.env'),
      CANARY: node.canary,
      PID: String(process.pid),
    };
    const r = await callPlugin(node, path.join(b.dir, c.plugin), caseEnv(c, vars), stdinBytes(c, vars));
    const problems = judge(c, r);
    const now = await snap(node);
    if (now !== lane.snapshot) problems.push(`node changed: ${firstDifference(lane.snapshot, now)}`);
    if (fs.existsSync(node.canary)) {
      problems.push(`canary ${node.canary} was created`);
      fs.rmSync(node.canary, { force: true, recursive: true });
    }
    // A changed node is reported once; the next case is compared with what it is now. A cni0
    // made on the bare node is removed again, so every case meets a node without one.
    lane.snapshot = now;
    if (lane.variant === 'bare' && (ipJson(node.ns, ['link', 'show']) as { ifname: string }[]).some((l) => l.ifname === 'cni0')) {
      ipIn(node.ns, ['link', 'del', 'cni0']);
      lane.snapshot = await snap(node);
    }
    if (problems.length > 0) {
      failures.push(`[${b.label}, ${lane.variant} node] ${c.file} "${c.name}":\n    ${problems.join('\n    ')}\n    stdout: ${r.stdout.slice(0, 500).replace(/\n\s*/g, ' ')}`);
    }
  }
  return failures;
}

describe('bad-input corpus (netns)', { skip: !ROOT && 'needs root' }, () => {
  // One node per build, so the two builds run side by side.
  const lanes: Lane[] = [];

  before(async () => {
    for (const b of builds()) {
      lanes.push({ build: b, variant: 'pods', node: makeNode(corpus, b.label, false), snapshot: '' });
      lanes.push({ build: b, variant: 'bare', node: makeNode(corpus, `${b.label}-bare`, true), snapshot: '' });
    }
    for (const l of lanes) l.snapshot = await settledSnapshot(l.node);
  });
  after(() => {
    try {
      for (const l of lanes) l.node.cleanup();
    } finally {
      cleanupAllNetns();
    }
  });

  test('the corpus has at least 100 cases and covers every plugin; the concurrent snapshot equals the plain one', () => {
    assert.ok(corpus.length >= 100, `${corpus.length} cases`);
    for (const p of CORPUS_PLUGINS) assert.ok(corpus.some((c) => c.plugin === p), `no case for ${p}`);
    const n = lanes[0]!.node;
    assert.equal(hostSnapshot(n.ns, [n.state, n.inputs]).replace(/counter packets \d+ bytes \d+/g, 'counter'), lanes[0]!.snapshot);
    // The variants are what they claim: cni0 on the pods node only; the other pod's ipMasq chain on both.
    for (const l of lanes) {
      const names = (ipJson(l.node.ns, ['link', 'show']) as { ifname: string }[]).map((x) => x.ifname);
      assert.equal(names.includes('cni0'), l.variant === 'pods', `${l.build.label}/${l.variant}: links ${names.join(' ')}`);
      assert.ok(l.snapshot.includes(OTHER_POD_MASQ_CHAIN), `${l.build.label}/${l.variant}: no ${OTHER_POD_MASQ_CHAIN} in the snapshot`);
    }
  });

  for (const plugin of CORPUS_PLUGINS) {
    const cases = corpus.map((c, i) => ({ c, i })).filter(({ c }) => c.plugin === plugin);
    test(`${plugin}: ${cases.length} cases on both builds, with and without cni0, fail cleanly and leave the node unchanged`, async () => {
      const failures = (await Promise.all(lanes.map((l) => runCases(l, cases)))).flat();
      assert.equal(failures.length, 0, `${failures.length} of ${cases.length * lanes.length} runs failed:\n${failures.join('\n')}`);
    });
  }
});
