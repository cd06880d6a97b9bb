// Dead-export check (issue 16): every export of shared/, plugins/ and flanneld/ must be used by
// another file (product, tests, benchmarks). Run by the unit tier and `npm run dead-exports`;
// exits 1 listing `file:line name` of each export nobody imports (delete it, or drop `export`).
// A barrel's (index.ts) re-exports count as uses. Uses only inside strings (scripts a test runs
// in another process) are invisible to it: such a test must import what it needs too.
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const CHECKED = [/^shared\//, /^plugins\//, /^flanneld\//];

function program(): ts.Program {
  const cfgPath = path.join(ROOT, 'tsconfig.json');
  const cfg = ts.readConfigFile(cfgPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, ROOT);
  return ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
}

const rel = (f: ts.SourceFile): string => path.relative(ROOT, f.fileName);

export function deadExports(): string[] {
  const prog = program();
  const checker = prog.getTypeChecker();
  const files = prog.getSourceFiles().filter((f) => !f.isDeclarationFile && !rel(f).startsWith('..') && !rel(f).includes('node_modules'));
  // Declarations referenced from a file other than their own.
  const used = new Set<ts.Declaration>();
  for (const f of files) {
    const visit = (n: ts.Node): void => {
      // `export { x } from './m'` is not a use, except in a barrel (index.ts): the API the
      // daemon and the kernel tests import from.
      const reexport = n.parent && ts.isExportSpecifier(n.parent) && !!n.parent.parent.parent.moduleSpecifier;
      if (ts.isIdentifier(n) && (!reexport || path.basename(f.fileName) === 'index.ts')) {
        let sym = checker.getSymbolAtLocation(n);
        if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
        for (const d of sym?.declarations ?? []) if (d.getSourceFile() !== f) used.add(d);
        // `const { x } = require('./m') as typeof import('./m')` (a lazy load): the name is a
        // local variable, the use is of the module's property `x`.
        const b = n.parent;
        if (b && ts.isBindingElement(b) && ts.isObjectBindingPattern(b.parent) && n === (b.propertyName ?? b.name)) {
          const prop = checker.getTypeAtLocation(b.parent).getProperty(n.text);
          for (const d of prop?.declarations ?? []) if (d.getSourceFile() !== f) used.add(d);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(f);
  }
  const dead: string[] = [];
  for (const f of files) {
    // Barrels (index.ts) only re-export: their names are judged where they are declared.
    if (!CHECKED.some((re) => re.test(rel(f))) || path.basename(f.fileName) === 'index.ts') continue;
    const mod = checker.getSymbolAtLocation(f);
    if (!mod) continue;
    for (const exp of checker.getExportsOfModule(mod)) {
      const decls = (exp.declarations ?? []).filter((d) => d.getSourceFile() === f && !ts.isExportSpecifier(d) && !ts.isExportDeclaration(d));
      if (decls.length === 0) continue; // a re-export: judged where it is declared
      if (decls.some((d) => used.has(d))) continue;
      const line = f.getLineAndCharacterOfPosition(decls[0]!.getStart()).line + 1;
      dead.push(`${rel(f)}:${line} ${exp.getName()}`);
    }
  }
  return dead.sort();
}

if (require.main === module) {
  const dead = deadExports();
  if (dead.length > 0) {
    process.stderr.write(`dead exports (used by no other file: delete them, or drop \`export\`):\n${dead.map((d) => `  ${d}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write('dead exports: none\n');
}
