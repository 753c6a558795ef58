import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Chained tensor methods (`a.mul(b)`) exist only once @tensorflow/tfjs is loaded; tfjs-core-only apps lack them
// (STYLE.md §3). Library sources must call functional ops. These are the methods the Tensor class really has.
const NATIVE = new Set([
  'buffer', 'bufferSync', 'array', 'arraySync', 'data', 'dataToGPU', 'dataSync', 'bytes', 'dispose', 'throwIfDisposed',
  'print', 'clone', 'toString', 'cast', 'variable', 'assign',
]);
const TENSOR_TYPES = /^(Tensor|Variable|Scalar|Tensor[1-6]D|Rank|TensorLike)/;
const root = join(__dirname, '..', '..', '..', 'packages');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.ts$/.test(p) && !/\.test(-d)?\.ts$/.test(p)) out.push(p);
  }
  return out;
}

describe('library sources', () => {
  it('use functional tfjs ops, never chained tensor methods', () => {
    const files = readdirSync(root)
      .filter((pkg) => pkg !== 'bench') // the bench is an app that loads @tensorflow/tfjs itself
      .flatMap((pkg) => {
        const src = join(root, pkg, 'src');
        return statSync(src, { throwIfNoEntry: false })?.isDirectory() ? sources(src) : [];
      });
    const program = ts.createProgram(files, {
      strict: true,
      target: ts.ScriptTarget.ES2020,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const offenders: string[] = [];
    for (const sf of program.getSourceFiles()) {
      if (!files.includes(sf.fileName)) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
          const method = node.expression.name.text;
          if (!NATIVE.has(method)) {
            const type = checker.getTypeAtLocation(node.expression.expression);
            const names = (type.isUnion() ? type.types : [type]).map((t) => (t.getSymbol() ?? t.aliasSymbol)?.getName() ?? '');
            if (names.some((n) => TENSOR_TYPES.test(n))) {
              const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
              offenders.push(`${sf.fileName}:${line + 1}: .${method}()`);
            }
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
    expect(offenders).toEqual([]);
  }, 300_000); // type-checks every package's sources: slow on a busy 2-core machine
});
