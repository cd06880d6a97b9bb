// The config validators generated from the zod schemas (scripts/gen-validators.ts, issue 16)
// against zod itself: for every compiled schema, zod's safeParse and the generated validator
// must agree on success, on the data (deep, key order included) and on the FIRST issue (path
// and message), over every corpus input, the example configs, and a generated mutation set
// (every field path × a list of values, unknown keys at every object level, pairs of bad fields).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { inspect, isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { generateAll, generateTarget, RefusedSchema, TARGETS, validatorName } from '../../../scripts/gen-validators';
import { ipOrEmpty } from '../../../shared/cni/config-checks';
import { refined } from '../../../shared/cni/schema-refine';
import type { Validator } from '../../../shared/cni/validator-runtime';
import { corpusDir, loadCorpus, stdinBytes } from '../../helpers/corpus';

const ROOT = path.resolve(corpusDir(), '../..');

interface Compiled {
  label: string;
  plugin: string;
  schema: z.ZodTypeAny;
  validator: Validator<unknown>;
}

/** Every exported schema of every target, with its generated validator. */
const COMPILED: Compiled[] = TARGETS.flatMap((t) => {
  const generated = require(`../../../${t.dir}/config-validators.generated`) as Record<string, Validator<unknown>>;
  return Object.entries(t.schemas)
    .filter(([, s]) => s instanceof z.ZodType)
    .map(([name, s]) => ({ label: `${t.dir} ${name}`, plugin: path.basename(t.dir), schema: s as z.ZodTypeAny, validator: generated[validatorName(name)]! }));
});

/** Key order and undefined-valued keys count too (the data is passed on, e.g. to delegates). */
const show = (v: unknown): string => inspect(v, { depth: null, showHidden: false, sorted: false });

/** Compares zod and the generated validator on one input; the difference, or undefined. */
function differs(c: Compiled, input: unknown, want = c.schema.safeParse(input)): string | undefined {
  const got = c.validator(input);
  if (want.success !== got.success) {
    return `success: zod ${want.success} (${want.success ? '' : want.error.issues[0]!.message}), generated ${got.success}`;
  }
  if (want.success && got.success) {
    if (!isDeepStrictEqual(got.data, want.data) || show(got.data) !== show(want.data)) return `data: zod ${show(want.data)}, generated ${show(got.data)}`;
    return undefined;
  }
  const first = (want as z.SafeParseError<unknown>).error.issues[0]!;
  const issue = (got as { issue: { path: unknown[]; message: string } }).issue;
  if (!isDeepStrictEqual(issue.path, first.path) || issue.message !== first.message) {
    return `first issue: zod ${JSON.stringify(first.path)} ${JSON.stringify(first.message)}, generated ${JSON.stringify(issue.path)} ${JSON.stringify(issue.message)}`;
  }
  return undefined;
}

/** Runs every case, failing with the first few differences (and counting the cases). */
function compareAll(cases: Array<{ c: Compiled; input: unknown; what: string }>): { total: number; failures: number } {
  const bad: string[] = [];
  let failures = 0;
  for (const { c, input, what } of cases) {
    const want = c.schema.safeParse(input);
    const d = differs(c, input, want);
    if (d && bad.length < 10) bad.push(`${c.label}, ${what}: ${d}\n    input ${show(input)}`);
    if (!want.success) failures++;
  }
  assert.deepEqual(bad, [], `${bad.length} difference(s) (first 10 shown)`);
  return { total: cases.length, failures };
}

test('every exported schema has its generated validator', () => {
  assert.ok(COMPILED.length >= 5, COMPILED.map((c) => c.label).join(', '));
  for (const c of COMPILED) assert.equal(typeof c.validator, 'function', c.label);
});

test('the generated files are what the generator makes of the schemas now (not stale)', () => {
  for (const [rel, content] of generateAll()) {
    assert.equal(fs.readFileSync(path.join(ROOT, rel), 'utf8'), content, `${rel} is stale: npm run build regenerates it`);
  }
});

// --- (a) the corpus and the example configs -------------------------------------------------

const VARS = { STATE: '/tmp/st', NETNS: '/run/netns/x', NODE_NETNS: '/run/netns/n', CNI_PATH: '/opt/cni/bin', FILE: '/tmp/f', SUBNET_ENV: '/run/flannel/subnet.env', PID: '1' };

function corpusInputs(): Array<{ input: unknown; what: string; plugin: string }> {
  const out: Array<{ input: unknown; what: string; plugin: string }> = [];
  for (const c of loadCorpus()) {
    let input: unknown;
    try {
      input = JSON.parse(stdinBytes(c, VARS).toString('utf8'));
    } catch {
      continue; // not JSON: refused before validation
    }
    out.push({ input, what: `corpus ${c.file} "${c.name}"`, plugin: c.plugin });
  }
  for (const f of fs.readdirSync(path.join(ROOT, 'conf-examples')).filter((n) => n.endsWith('.conflist'))) {
    const list = JSON.parse(fs.readFileSync(path.join(ROOT, 'conf-examples', f), 'utf8')) as { cniVersion: string; name: string; plugins: Array<Record<string, unknown>> };
    for (const p of list.plugins) out.push({ input: { cniVersion: list.cniVersion, name: list.name, ...p }, what: `conf-examples/${f} ${String(p.type)}`, plugin: String(p.type) });
  }
  return out;
}

test('zod and the generated validators agree on every corpus input and example config', (t) => {
  const inputs = corpusInputs();
  assert.ok(inputs.length > 150, `${inputs.length} inputs`);
  // Every schema on every input (a plugin's own inputs, and the others' as extra variety).
  const { total, failures } = compareAll(COMPILED.flatMap((c) => inputs.map(({ input, what }) => ({ c, input, what }))));
  const own = inputs.filter((i) => COMPILED.some((c) => c.plugin === i.plugin)).length;
  assert.ok(total > 1000 && failures > 100 && own > 150, `${total} cases (${failures} refused by zod), ${own} plugin-own inputs`);
  t.diagnostic(`corpus and examples: ${inputs.length} inputs, ${total} cases, ${failures} refused by zod`);
});

// --- (b) mutations --------------------------------------------------------------------------

type Node = z.ZodTypeAny;
const typeName = (n: Node): string => (n._def as { typeName: string }).typeName;
const inner = (n: Node): Node | undefined => {
  const d = n._def as { innerType?: Node; schema?: Node };
  return d.innerType ?? d.schema;
};

/** Leaf values tried, in order, to find a valid one for a node (refinements included). */
const LEAF_CANDIDATES: unknown[] = ['10.1.2.0/24', '10.1.2.3', 'cni0', 'x', 1, 0, 1500, true, false, { a: 1 }];

/** A valid value for `node`, as full as possible (every optional field given); NONE if none. */
const NONE = Symbol('none');
function sample(node: Node): unknown {
  switch (typeName(node)) {
    case 'ZodObject': {
      const out: Record<string, unknown> = {};
      for (const [k, child] of Object.entries((node as z.AnyZodObject).shape as Record<string, Node>)) {
        const v = sample(child);
        if (v !== NONE) out[k] = v;
      }
      return out;
    }
    case 'ZodArray': {
      const v = sample((node._def as { type: Node }).type);
      return v === NONE ? [] : [v, structuredClone(v)];
    }
    case 'ZodRecord': {
      const v = sample((node._def as { valueType: Node }).valueType);
      return v === NONE ? {} : { k1: v, k2: structuredClone(v) };
    }
    case 'ZodOptional':
    case 'ZodNullable':
    case 'ZodDefault': {
      const v = sample(inner(node)!);
      return v === NONE || !node.safeParse(v).success ? NONE : v;
    }
    case 'ZodEffects':
      if (['ZodObject', 'ZodArray', 'ZodRecord'].includes(typeName(inner(node)!))) return sample(inner(node)!);
      break;
  }
  const found = LEAF_CANDIDATES.find((c) => node.safeParse(c).success);
  return found === undefined ? NONE : structuredClone(found);
}

type Path = Array<string | number>;

/** Every field path the schema declares, inside a value shaped like `sample(node)`. */
function paths(node: Node, value: unknown, at: Path, out: Path[]): Path[] {
  out.push(at);
  switch (typeName(node)) {
    case 'ZodOptional':
    case 'ZodNullable':
    case 'ZodDefault':
    case 'ZodEffects':
      paths(inner(node)!, value, at, []).slice(1).forEach((p) => out.push(p));
      break;
    case 'ZodObject':
      for (const [k, child] of Object.entries((node as z.AnyZodObject).shape as Record<string, Node>)) {
        const v = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[k] : undefined;
        paths(child, v, [...at, k], out);
      }
      break;
    case 'ZodArray':
      if (Array.isArray(value)) value.forEach((v, i) => paths((node._def as { type: Node }).type, v, [...at, i], out));
      break;
    case 'ZodRecord':
      if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) paths((node._def as { valueType: Node }).valueType, v, [...at, k], out);
      }
      break;
  }
  return out;
}

/** The node a path leads to (through wrappers), to find a valid value there. */
function nodeAt(node: Node, p: Path): Node {
  let n = node;
  for (const key of p) {
    while (inner(n) && !['ZodObject', 'ZodArray', 'ZodRecord'].includes(typeName(n))) n = inner(n)!;
    if (typeName(n) === 'ZodObject') n = ((n as z.AnyZodObject).shape as Record<string, Node>)[key as string]!;
    else if (typeName(n) === 'ZodArray') n = (n._def as { type: Node }).type;
    else n = (n._def as { valueType: Node }).valueType;
  }
  return n;
}

const MISSING = Symbol('missing');
/** As JSON.parse makes it: an own, enumerable `__proto__` key. */
const protoKeyed = (): unknown => JSON.parse('{"__proto__": {"polluted": 1}, "a": 1}');
const REPLACEMENTS: Array<() => unknown> = [
  () => MISSING,
  () => null,
  () => undefined,
  () => '',
  () => 'x',
  () => 0,
  () => 1.5,
  () => -1,
  () => -0.5,
  () => 65535,
  () => 65536,
  () => true,
  () => false,
  () => [],
  () => ({}),
  () => [1],
  () => ['x'],
  () => [null],
  () => [{}],
  () => ({ a: 1 }),
  () => 1e308,
  () => JSON.parse('1e999'),
  () => -1e308,
  () => 2 ** 53 + 2,
  () => NaN,
  () => 'a'.repeat(15),
  () => 'a'.repeat(16),
  () => '.',
  () => '..',
  () => 'a/b',
  () => 'a/b c'.repeat(4), // too long AND bad characters: the first check wins
  () => 'a b',
  () => 'eth0:1',
  () => '10.1.2.3',
  () => '10.1.2.0/24',
  () => '10.1.2.3/33',
  () => '::1',
  () => 'fd00::/64',
  () => '1.2.3',
  () => protoKeyed(),
];

const clone = (v: unknown): unknown => (v === undefined ? undefined : structuredClone(v));

/** `base` with the value at `p` replaced (MISSING: deleted / spliced out). */
function withValue(base: unknown, p: Path, value: unknown): unknown {
  if (p.length === 0) return value === MISSING ? undefined : value;
  const root = clone(base);
  let parent = root as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) {
    const next = parent[k];
    if (next === null || typeof next !== 'object') return undefined; // the path left the value
    parent = next as Record<string | number, unknown>;
  }
  const last = p[p.length - 1]!;
  if (value !== MISSING) parent[last] = value;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return root;
}

/** `base` with unknown keys added to the object at `p`. */
function withExtraKeys(base: unknown, p: Path, keys: Record<string, unknown>, protoKey: boolean): unknown {
  const root = clone(base);
  let o = root as Record<string | number, unknown>;
  for (const k of p) o = o[k] as Record<string | number, unknown>;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  Object.assign(o, keys);
  if (protoKey) Object.defineProperty(o, '__proto__', { value: { polluted: 1 }, enumerable: true, writable: true, configurable: true });
  return root;
}

const sameOrPrefix = (a: Path, b: Path): boolean => a.length <= b.length && a.every((k, i) => b[i] === k);

function mutations(c: Compiled): Array<{ c: Compiled; input: unknown; what: string }> {
  const base = sample(c.schema);
  assert.ok(base !== NONE && c.schema.safeParse(base).success, `${c.label}: no valid sample (${show(base)})`);
  const cases: Array<{ c: Compiled; input: unknown; what: string }> = [{ c, input: base, what: 'the full sample' }];
  const all = paths(c.schema, base, [], []);
  const unique = [...new Map(all.map((p) => [JSON.stringify(p), p])).values()];
  for (const p of unique) {
    const valid = sample(nodeAt(c.schema, p));
    for (const make of [...REPLACEMENTS, () => (valid === NONE ? MISSING : clone(valid))]) {
      const value = make();
      const input = withValue(base, p, value);
      if (input !== undefined || p.length === 0) cases.push({ c, input, what: `${JSON.stringify(p)} = ${value === MISSING ? '(missing)' : show(value)}` });
    }
    // Unknown keys at every object level (kept by passthrough, dropped by strip, __proto__ never).
    const extra = withExtraKeys(base, p, { zzExtra: { deep: [1, 'x'] }, constructor: 'c', undefinedKey: undefined }, false);
    if (extra !== undefined) cases.push({ c, input: extra, what: `${JSON.stringify(p)} + unknown keys` });
    const proto = withExtraKeys(base, p, {}, true);
    if (proto !== undefined) cases.push({ c, input: proto, what: `${JSON.stringify(p)} + own __proto__ key` });
  }
  // Two bad fields: the first issue must be zod's first (shape order, index order).
  for (let i = 0; i < unique.length; i++) {
    for (let j = 0; j < unique.length; j++) {
      const [a, b] = [unique[i]!, unique[j]!];
      if (i === j || sameOrPrefix(a, b) || sameOrPrefix(b, a)) continue;
      for (const [va, vb] of [
        [1.5, 'x'],
        [[], true],
      ] as const) {
        const one = withValue(base, a, va);
        const both = one === undefined ? undefined : withValue(one, b, vb);
        if (both !== undefined) cases.push({ c, input: both, what: `${JSON.stringify(a)} = ${show(va)} and ${JSON.stringify(b)} = ${show(vb)}` });
      }
    }
  }
  return cases;
}

test('zod and the generated validators agree on thousands of mutations of every schema', (t) => {
  let total = 0;
  for (const c of COMPILED) {
    const cases = mutations(c);
    const r = compareAll(cases);
    assert.ok(r.total > 100 && r.failures > 50, `${c.label}: ${r.total} cases, ${r.failures} refused`);
    t.diagnostic(`${c.label}: ${r.total} cases, ${r.failures} refused by zod`);
    total += r.total;
  }
  assert.ok(total > 10000, `${total} cases`);
  t.diagnostic(`${total} mutation cases in all`);
});

// --- the generator refuses what it cannot compile --------------------------------------------

test('the generator refuses a zod construct it does not support, naming the schema path', () => {
  const refusal = (schema: z.ZodTypeAny): string => {
    try {
      generateTarget({ dir: 'plugins/x', schemas: { fooSchema: z.object({ a: z.object({ b: schema }).passthrough() }) } });
    } catch (e) {
      assert.ok(e instanceof RefusedSchema, String(e));
      return e.message;
    }
    return assert.fail('not refused');
  };
  const cases: Array<[z.ZodTypeAny, RegExp]> = [
    [z.string().email(), /fooSchema\.a\.b \(\.email\): z\.string\(\)\.email\(\) is not supported/],
    [z.string().trim(), /trim/],
    [z.string().transform((s) => s.length), /transform/],
    [z.string().refine((s) => s !== ''), /not made with refined\(\)/],
    [refined(z.string(), { test: () => true, message: 'm' }), /not exported/],
    [z.union([z.string(), z.number()]), /ZodUnion is not supported/],
    [z.object({}).strict(), /\.strict\(\) objects are not supported/],
    [z.object({}).catchall(z.string()), /catchall/],
    [z.array(z.string()).min(1), /array length checks/],
    [z.lazy(() => z.string()), /ZodLazy/],
    [z.literal('x'), /ZodLiteral/],
    [z.enum(['a']), /ZodEnum/],
    [z.coerce.number(), /coerce/],
    [z.number().multipleOf(2), /multipleOf/],
    [z.string().catch('x'), /ZodCatch/],
    [z.object({ x: z.string() }).default({ x: '' }), /\.default\(\) of anything but/],
    [z.number({ errorMap: (i) => ({ message: i.code === 'invalid_type' ? String((i as { received?: unknown }).received) : 'm' }) }), /depends on the type received/],
    [z.record(z.string().min(1), z.unknown()), /record keys/],
    [z.string().brand<'B'>(), /ZodBranded/],
  ];
  for (const [schema, want] of cases) {
    const msg = refusal(schema);
    assert.match(msg, /^plugins\/x\/config-schema\.ts fooSchema\.a\.b/);
    assert.match(msg, want);
  }
  // What it accepts compiles (a refinement made with refined() and an exported Check).
  assert.match(generateTarget({ dir: 'plugins/x', schemas: { fooSchema: z.object({ ip: refined(z.string(), ipOrEmpty) }) } }), /ipOrEmpty\.test\(/);
});
