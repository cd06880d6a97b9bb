// Compiles the plugins' zod config schemas to plain validators at build time (issue 16: a call
// must not pay ~1.7 ms for loading zod and building schemas). For each plugin, every exported
// `<name>Schema` of plugins/<p>/config-schema.ts becomes `<name>Validator` in
// plugins/<p>/config-validators.generated.ts (gitignored; tsc compiles it, Bun bundles it), which
// returns what zod 3's safeParse would: the parsed data (passthrough keeps unknown keys, strip
// drops them, defaults applied), or zod's FIRST issue with the same path and message.
//
// Run by scripts/build.sh before tsc: `node_modules/@oven/bun-linux-x64/bin/bun scripts/gen-validators.ts`.
// A zod construct it does not support is REFUSED (exit 1 naming the schema path), so a schema
// change cannot silently mis-compile; test/unit/shared/validators-differential.test.ts compares
// the generated validators with zod on the corpus and on thousands of mutations.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import * as sharedChecks from '../shared/cni/config-checks';
import { checkOf } from '../shared/cni/schema-refine';
import * as bridgeChecks from '../plugins/bridge/config-checks';
import * as bridgeSchemas from '../plugins/bridge/config-schema';
import * as flannelSchemas from '../plugins/flannel/config-schema';
import * as hostLocalSchemas from '../plugins/host-local/config-schema';
import * as portmapSchemas from '../plugins/portmap/config-schema';

/** The repository root, from the source tree (Bun) or from the compiled out/scripts (tests). */
const ROOT = fs.existsSync(path.join(__dirname, '../tsconfig.json')) ? path.resolve(__dirname, '..') : path.resolve(__dirname, '../..');

/** Where each plugin's schemas are and the generated file goes (a directory under the root). */
export const TARGETS: ReadonlyArray<{ dir: string; schemas: Record<string, unknown> }> = [
  { dir: 'plugins/bridge', schemas: bridgeSchemas },
  { dir: 'plugins/flannel', schemas: flannelSchemas },
  { dir: 'plugins/host-local', schemas: hostLocalSchemas },
  { dir: 'plugins/portmap', schemas: portmapSchemas },
];

/** Modules whose exported Checks the generated code may call (see shared/cni/schema-refine.ts). */
const CHECK_MODULES: ReadonlyArray<{ file: string; exports: Record<string, unknown> }> = [
  { file: 'shared/cni/config-checks', exports: sharedChecks },
  { file: 'plugins/bridge/config-checks', exports: bridgeChecks },
];

const SCHEMA_FILE = 'config-schema';
const OUT_FILE = 'config-validators.generated.ts';
const RUNTIME = 'shared/cni/validator-runtime';

export class RefusedSchema extends Error {}

type Def = { typeName: string; errorMap?: z.ZodErrorMap; [k: string]: unknown };
type Node = z.ZodTypeAny;
const defOf = (n: Node): Def => n._def as Def;
type IssueData = { code: string; message?: string | undefined; [k: string]: unknown };

/** zod 3's message for an issue raised by `node` on `data` (addIssueToContext, no contextual map). */
function resolveMessage(node: Node, issue: IssueData, data: unknown): string {
  if (issue.message !== undefined) return issue.message;
  const override = z.getErrorMap();
  const maps = [defOf(node).errorMap, override, override === z.defaultErrorMap ? undefined : z.defaultErrorMap].filter((m): m is z.ZodErrorMap => !!m);
  let message = '';
  const full = { ...issue, path: [] } as unknown as z.ZodIssueOptionalMessage;
  for (const map of maps.reverse()) message = map(full, { data, defaultError: message }).message;
  return message;
}

/** One value of each type zod 3's getParsedType names. */
const TYPE_SAMPLES: ReadonlyArray<[string, unknown]> = [
  ['undefined', undefined],
  ['string', 'x'],
  ['nan', NaN],
  ['number', 1],
  ['boolean', true],
  ['function', () => 0],
  ['bigint', BigInt(1)],
  ['symbol', Symbol('s')],
  ['array', []],
  ['null', null],
  ['promise', { then: () => 0, catch: () => 0 }],
  ['map', new Map()],
  ['set', new Set()],
  ['date', new Date(0)],
  ['object', {}],
];

const lit = (v: unknown): string => JSON.stringify(v);

/** Code generation for one plugin's schema module. */
class Emitter {
  private readonly names = new Map<Node, string>();
  private readonly byBody = new Map<string, string>();
  private readonly fns: string[] = [];
  private readonly consts = new Map<string, string>();
  readonly runtime = new Set<string>(['result', 'type ValidationResult']);
  readonly checks = new Map<string, Set<string>>();

  refuse(where: string, why: string): never {
    throw new RefusedSchema(`${where}: ${why}`);
  }

  /**
   * The function validating `node`. Nodes that compile to the same code share one function
   * (a schema builds many equal `z.string().nullish()` nodes). zod trees without z.lazy (refused)
   * have no cycles, so children are compiled first.
   */
  fn(node: Node, where: string): string {
    const known = this.names.get(node);
    if (known) return known;
    const body = this.body(node, where)
      .map((l) => `  ${l}`)
      .join('\n');
    let name = this.byBody.get(body);
    if (!name) {
      name = `n${this.byBody.size}`;
      this.byBody.set(body, name);
      this.fns.push(`// ${where}\nfunction ${name}(v: unknown): unknown {\n${body}\n}`);
    }
    this.names.set(node, name);
    return name;
  }

  /** A module-level constant with this initialiser (one per distinct initialiser). */
  private constant(prefix: string, type: string, init: string): string {
    const key = `${type} = ${init}`;
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = `${prefix}${this.consts.size}`));
    return name;
  }

  private use(helper: string): string {
    this.runtime.add(helper);
    return helper;
  }

  /** The expression of the message of "wrong type" at `node` (expected `expected`). */
  private typeMessage(node: Node, expected: string, where: string): string {
    const msgs = TYPE_SAMPLES.filter(([t]) => t !== expected).map(([t, data]) => [t, resolveMessage(node, { code: 'invalid_type', expected, received: t }, data)] as const);
    if (msgs.every(([t, m]) => m === (t === 'undefined' ? 'Required' : `Expected ${expected}, received ${t}`))) {
      return `${this.use('invalidType')}(${lit(expected)}, v)`;
    }
    const defined = new Set(msgs.filter(([t]) => t !== 'undefined').map(([, m]) => m));
    if (defined.size !== 1) this.refuse(where, `its "wrong type" message depends on the type received (a custom error map): not supported`);
    const undef = msgs.find(([t]) => t === 'undefined')![1];
    const [other] = defined;
    return undef === other ? lit(other) : `v === undefined ? ${lit(undef)} : ${lit(other)}`;
  }

  /** The message of a check's issue; refused when it depends on the value (a custom error map). */
  private checkMessage(node: Node, issue: IssueData, samples: unknown[], where: string): string {
    const msgs = new Set(samples.map((s) => resolveMessage(node, issue, s)));
    if (msgs.size !== 1) this.refuse(where, `the message of its ${issue.code} issue depends on the value (a custom error map): not supported`);
    return lit([...msgs][0]);
  }

  private fail(message: string): string {
    return `return ${this.use('fail')}(${message});`;
  }

  private body(node: Node, where: string): string[] {
    const def = defOf(node);
    const refuseKeys = (allowed: string[]): void => {
      for (const [k, v] of Object.entries(def)) {
        if (v === undefined || allowed.includes(k)) continue;
        this.refuse(where, `${def.typeName} with "${k}" is not supported`);
      }
    };
    switch (def.typeName) {
      case 'ZodString': {
        refuseKeys(['typeName', 'checks', 'coerce', 'errorMap', 'description']);
        if (def.coerce) this.refuse(where, 'z.coerce is not supported');
        const out = [`if (typeof v !== 'string') ${this.fail(this.typeMessage(node, 'string', where))}`];
        const samples = ['x', 'a longer sample string'];
        for (const c of def.checks as Array<{ kind: string; value?: number; regex?: RegExp; message?: string }>) {
          const at = `${where} (.${c.kind})`;
          if (c.kind === 'min') {
            out.push(`if (v.length < ${lit(c.value)}) ${this.fail(this.checkMessage(node, { code: 'too_small', minimum: c.value, type: 'string', inclusive: true, exact: false, message: c.message }, samples, at))}`);
          } else if (c.kind === 'max') {
            out.push(`if (v.length > ${lit(c.value)}) ${this.fail(this.checkMessage(node, { code: 'too_big', maximum: c.value, type: 'string', inclusive: true, exact: false, message: c.message }, samples, at))}`);
          } else if (c.kind === 'length') {
            out.push(`if (v.length > ${lit(c.value)}) ${this.fail(this.checkMessage(node, { code: 'too_big', maximum: c.value, type: 'string', inclusive: true, exact: true, message: c.message }, samples, at))}`);
            out.push(`if (v.length < ${lit(c.value)}) ${this.fail(this.checkMessage(node, { code: 'too_small', minimum: c.value, type: 'string', inclusive: true, exact: true, message: c.message }, samples, at))}`);
          } else if (c.kind === 'regex') {
            const re = c.regex!;
            if (re.global || re.sticky) this.refuse(at, 'a regex with the g or y flag is not supported');
            const name = this.constant('R', '', re.toString());
            out.push(`if (!${name}.test(v)) ${this.fail(this.checkMessage(node, { code: 'invalid_string', validation: 'regex', message: c.message }, samples, at))}`);
          } else {
            this.refuse(at, `z.string().${c.kind}() is not supported`);
          }
        }
        out.push('return v;');
        return out;
      }
      case 'ZodNumber': {
        refuseKeys(['typeName', 'checks', 'coerce', 'errorMap', 'description']);
        if (def.coerce) this.refuse(where, 'z.coerce is not supported');
        const out = [`if (typeof v !== 'number' || Number.isNaN(v)) ${this.fail(this.typeMessage(node, 'number', where))}`];
        const samples = [1.5, -7];
        for (const c of def.checks as Array<{ kind: string; value?: number; inclusive?: boolean; message?: string }>) {
          const at = `${where} (.${c.kind})`;
          if ((c.kind === 'min' || c.kind === 'max') && !Number.isFinite(c.value)) this.refuse(at, 'a non-finite bound is not supported');
          if (c.kind === 'int') {
            out.push(`if (!Number.isInteger(v)) ${this.fail(this.checkMessage(node, { code: 'invalid_type', expected: 'integer', received: 'float', message: c.message }, samples, at))}`);
          } else if (c.kind === 'min') {
            const msg = this.checkMessage(node, { code: 'too_small', minimum: c.value, type: 'number', inclusive: c.inclusive, exact: false, message: c.message }, samples, at);
            out.push(`if (v ${c.inclusive ? '<' : '<='} ${lit(c.value)}) ${this.fail(msg)}`);
          } else if (c.kind === 'max') {
            const msg = this.checkMessage(node, { code: 'too_big', maximum: c.value, type: 'number', inclusive: c.inclusive, exact: false, message: c.message }, samples, at);
            out.push(`if (v ${c.inclusive ? '>' : '>='} ${lit(c.value)}) ${this.fail(msg)}`);
          } else if (c.kind === 'finite') {
            out.push(`if (!Number.isFinite(v)) ${this.fail(this.checkMessage(node, { code: 'not_finite', message: c.message }, samples, at))}`);
          } else {
            this.refuse(at, `z.number().${c.kind}() is not supported`);
          }
        }
        out.push('return v;');
        return out;
      }
      case 'ZodBoolean':
        refuseKeys(['typeName', 'coerce', 'errorMap', 'description']);
        if (def.coerce) this.refuse(where, 'z.coerce is not supported');
        return [`if (typeof v !== 'boolean') ${this.fail(this.typeMessage(node, 'boolean', where))}`, 'return v;'];
      case 'ZodUnknown':
      case 'ZodAny':
        refuseKeys(['typeName', 'errorMap', 'description']);
        return ['return v;'];
      case 'ZodArray': {
        refuseKeys(['typeName', 'type', 'minLength', 'maxLength', 'exactLength', 'errorMap', 'description']);
        if (def.minLength !== null || def.maxLength !== null || def.exactLength !== null) this.refuse(where, 'array length checks are not supported');
        const el = this.fn(def.type as Node, `${where}[]`);
        return [
          `if (!Array.isArray(v)) ${this.fail(this.typeMessage(node, 'array', where))}`,
          'const out: unknown[] = [];',
          'for (let i = 0; i < v.length; i++) {',
          `  const r = ${el}(v[i]);`,
          `  if (r === ${this.use('FAIL')}) return ${this.use('failAt')}(i);`,
          '  out.push(r);',
          '}',
          'return out;',
        ];
      }
      case 'ZodObject': {
        refuseKeys(['typeName', 'shape', 'unknownKeys', 'catchall', 'errorMap', 'description']);
        const unknownKeys = def.unknownKeys as string;
        if (defOf(def.catchall as Node).typeName !== 'ZodNever') this.refuse(where, '.catchall() is not supported');
        if (unknownKeys !== 'passthrough' && unknownKeys !== 'strip') this.refuse(where, `.${unknownKeys}() objects are not supported`);
        const shape = (node as z.AnyZodObject).shape as Record<string, Node>;
        const keys = Object.keys(shape);
        const out = [
          `if (${this.use('parsedType')}(v) !== 'object') ${this.fail(this.typeMessage(node, 'object', where))}`,
          'const d = v as Record<string, unknown>;',
          'const out: Record<string, unknown> = {};',
        ];
        keys.forEach((k, i) => {
          if (k === '__proto__') this.refuse(where, 'a key named __proto__ is not supported');
          const child = this.fn(shape[k]!, `${where}.${k}`);
          // In shape order; zod sets a key that was in the input, or whose parsed value is defined.
          out.push(`const r${i} = ${child}(d[${lit(k)}]);`, `if (r${i} === ${this.use('FAIL')}) return ${this.use('failAt')}(${lit(k)});`, `if (r${i} !== undefined || ${lit(k)} in d) out[${lit(k)}] = r${i};`);
        });
        if (unknownKeys === 'passthrough') {
          const set = this.constant('K', ': ReadonlySet<string>', `new Set(${lit(keys)})`);
          // Unknown keys are kept as they are, except __proto__ and undefined values (as zod).
          out.push(`for (const k in d) {`, `  if (k === '__proto__' || ${set}.has(k)) continue;`, '  const x = d[k];', '  if (x !== undefined) out[k] = x;', '}');
        }
        out.push('return out;');
        return out;
      }
      case 'ZodRecord': {
        refuseKeys(['typeName', 'keyType', 'valueType', 'errorMap', 'description']);
        const key = defOf(def.keyType as Node);
        if (key.typeName !== 'ZodString' || (key.checks as unknown[]).length > 0 || key.coerce) this.refuse(where, 'record keys other than a plain z.string() are not supported');
        const val = this.fn(def.valueType as Node, `${where}{}`);
        return [
          `if (${this.use('parsedType')}(v) !== 'object') ${this.fail(this.typeMessage(node, 'object', where))}`,
          'const d = v as Record<string, unknown>;',
          'const out: Record<string, unknown> = {};',
          'for (const k in d) {',
          `  const r = ${val}(d[k]);`,
          `  if (r === ${this.use('FAIL')}) return ${this.use('failAt')}(k);`,
          // zod sets every key met (it is `in` the input), except __proto__.
          "  if (k !== '__proto__') out[k] = r;",
          '}',
          'return out;',
        ];
      }
      // Wrappers are inlined: a guard, then the inner type's code.
      case 'ZodOptional':
        refuseKeys(['typeName', 'innerType', 'errorMap', 'description']);
        return ['if (v === undefined) return v;', ...this.body(def.innerType as Node, where)];
      case 'ZodNullable':
        refuseKeys(['typeName', 'innerType', 'errorMap', 'description']);
        return ['if (v === null) return v;', ...this.body(def.innerType as Node, where)];
      case 'ZodDefault': {
        refuseKeys(['typeName', 'innerType', 'defaultValue', 'errorMap', 'description']);
        const value = (def.defaultValue as () => unknown)();
        const ok = value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
        if (!ok) this.refuse(where, '.default() of anything but a string, finite number, boolean or null is not supported');
        return [`if (v === undefined) v = ${lit(value)};`, ...this.body(def.innerType as Node, where)];
      }
      case 'ZodEffects': {
        refuseKeys(['typeName', 'schema', 'effect', 'errorMap', 'description']);
        const effect = def.effect as { type: string };
        if (effect.type !== 'refinement') this.refuse(where, `a ${effect.type} (.transform/.preprocess) is not supported`);
        const check = checkOf(node);
        if (!check) this.refuse(where, 'a .refine() not made with refined() (shared/cni/schema-refine.ts) is not supported');
        const found = this.findCheck(check);
        if (!found) this.refuse(where, `its Check is not exported by any of ${CHECK_MODULES.map((m) => `${m.file}.ts`).join(', ')}`);
        if (typeof check.message !== 'string') this.refuse(where, 'a Check needs a message');
        const inner = this.fn(def.schema as Node, where);
        // zod runs a refinement only on a value its inner type parsed; the first issue wins.
        return [`const r = ${inner}(v);`, `if (r === ${this.use('FAIL')}) return r;`, `if (!${found}.test(r as never)) ${this.fail(lit(check.message))}`, 'return r;'];
      }
      default:
        return this.refuse(where, `${def.typeName} is not supported`);
    }
  }

  /** The local name of an exported Check, importing it. */
  private findCheck(check: object): string | undefined {
    for (const m of CHECK_MODULES) {
      for (const [name, value] of Object.entries(m.exports)) {
        if (value !== check) continue;
        let names = this.checks.get(m.file);
        if (!names) this.checks.set(m.file, (names = new Set()));
        names.add(name);
        return name;
      }
    }
    return undefined;
  }

  code(): string {
    const consts = [...this.consts].map(([init, name]) => `const ${name}${init};`);
    return [...consts, ...(consts.length ? [''] : []), this.fns.join('\n\n')].join('\n');
  }
}

/** `fooSchema` → `fooValidator`. */
export const validatorName = (schemaName: string): string => schemaName.replace(/Schema$/, 'Validator');

/** The generated source of one target (throws RefusedSchema naming the schema path). */
export function generateTarget(target: { dir: string; schemas: Record<string, unknown> }): string {
  const names = Object.keys(target.schemas)
    .filter((k) => target.schemas[k] instanceof z.ZodType)
    .sort();
  if (names.length === 0) throw new RefusedSchema(`${target.dir}/${SCHEMA_FILE}.ts exports no schema`);
  const em = new Emitter();
  const exported: string[] = [];
  const roots: string[] = [];
  for (const name of names) {
    if (!name.endsWith('Schema')) throw new RefusedSchema(`${target.dir}/${SCHEMA_FILE}.ts: exported schema ${name}: the name must end in "Schema"`);
    const root = em.fn(target.schemas[name] as Node, `${target.dir}/${SCHEMA_FILE}.ts ${name}`);
    roots.push(name);
    exported.push(
      `/** Validates like \`${name}.safeParse(input)\` (zod's data, or its first issue). */`,
      `export function ${validatorName(name)}(input: unknown): ValidationResult<z.output<typeof ${name}>> {`,
      `  return result(${root}(input));`,
      '}',
      '',
    );
  }
  const rel = (file: string): string => {
    const r = path.posix.relative(target.dir, file);
    return r.startsWith('.') ? r : `./${r}`;
  };
  const runtime = [...em.runtime].sort((a, b) => a.replace(/^type /, '').localeCompare(b.replace(/^type /, '')));
  const lines = [
    `// GENERATED by scripts/gen-validators.ts from ./${SCHEMA_FILE}.ts: do not edit (the build rewrites it).`,
    '// zod-free at run time: the schemas and zod are imported for their types only.',
    "import type { z } from 'zod';",
    `import { ${runtime.join(', ')} } from '${rel(RUNTIME)}';`,
    ...[...em.checks].map(([file, set]) => `import { ${[...set].sort().join(', ')} } from '${rel(file)}';`),
    `import type { ${roots.join(', ')} } from './${SCHEMA_FILE}';`,
    '',
    ...exported,
    em.code(),
    '',
  ];
  return lines.join('\n');
}

/** Every generated file: path under the root → content. */
export function generateAll(): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of TARGETS) out.set(`${t.dir}/${OUT_FILE}`, generateTarget(t));
  return out;
}

if (require.main === module) {
  let files: Map<string, string>;
  try {
    files = generateAll();
  } catch (e) {
    if (!(e instanceof RefusedSchema)) throw e;
    process.stderr.write(`gen-validators: cannot compile ${e.message}\n`);
    process.exit(1);
  }
  for (const [rel, content] of files) {
    const file = path.join(ROOT, rel);
    // Unchanged files keep their mtime (no needless rebuilds).
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content) continue;
    fs.writeFileSync(file, content);
  }
}
