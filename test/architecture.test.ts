/**
 * The house rules that keep the domain swappable (docs/design.md, "Extension points"), checked on the source:
 * the domain (shared/reconcile) imports no adapter; adapters import only the domain's ports and types, never
 * the planner or the executor; every adapter implements its port; the docs name files that exist.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Ec2Inventory } from '../shared/ec2/inventory.js';
import type { FindingsPublisher } from '../shared/findings/publish.js';
import type { MackerelClient } from '../shared/mackerel/client.js';
import type { Fleet, FindingSink, HostDirectory, Ledger, RunContext } from '../shared/reconcile/ports.js';
import type { Runtime } from '../shared/runtime.js';
import type { DynamoLedger } from '../shared/state/dynamo-ledger.js';
import type { MemoryLedger } from '../shared/state/memory-ledger.js';

const ROOT = resolve(import.meta.dirname, '..');

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The modules a file imports (statically, dynamically or by re-export), relative ones resolved from the root. */
function importsOf(file: string): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] as string);
  return specs.map((s) => (s.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.js$/, '.ts') : s));
}

const DOMAIN = 'shared/reconcile';
/** What the domain may use besides itself: the typed errors and plain utilities. */
const DOMAIN_MAY_USE = [/^shared\/reconcile\//, /^shared\/errors\.ts$/, /^shared\/util\//, /^node:/];

const ADAPTERS = ['shared/mackerel', 'shared/ec2', 'shared/state', 'shared/findings', 'shared/events'];
const ADAPTER_FILES = [...ADAPTERS.flatMap(files), 'shared/runtime.ts'];
/** The domain modules an adapter may import: the ports, the domain's types and the ledger's rules. */
const PORT_MODULES = ['ports', 'model', 'types', 'ledger', 'record', 'progress'].map((m) => `${DOMAIN}/${m}.ts`);

describe('architecture', () => {
  it('the domain imports no adapter module (nor anything but itself, the errors and utilities)', () => {
    const offending = files(DOMAIN).flatMap((file) =>
      importsOf(file)
        .filter((dep) => !DOMAIN_MAY_USE.some((ok) => ok.test(dep)))
        .map((dep) => `${file} imports ${dep}`),
    );
    expect(offending).toEqual([]);
  });

  it('adapters import only the domain’s ports and types, never the planner or the executor', () => {
    expect(ADAPTER_FILES.length).toBeGreaterThan(8);
    const offending = ADAPTER_FILES.flatMap((file) =>
      importsOf(file)
        .filter((dep) => dep.startsWith(`${DOMAIN}/`) && !PORT_MODULES.includes(dep))
        .map((dep) => `${file} imports ${dep}`),
    );
    expect(offending).toEqual([]);
  });

  it('the import check sees imports (a check that finds nothing must not pass by accident)', () => {
    expect(importsOf('shared/reconcile/plan.ts')).toContain('shared/reconcile/rules.ts');
    expect(importsOf('shared/state/dynamo-ledger.ts')).toContain('shared/reconcile/ledger.ts');
  });

  it('every adapter implements its port, and the runtime is what a run takes', () => {
    expectTypeOf<MackerelClient>().toExtend<HostDirectory>();
    expectTypeOf<Ec2Inventory>().toExtend<Fleet>();
    expectTypeOf<DynamoLedger>().toExtend<Ledger>();
    expectTypeOf<MemoryLedger>().toExtend<Ledger>();
    expectTypeOf<FindingsPublisher>().toExtend<FindingSink>();
    expectTypeOf<Runtime>().toExtend<RunContext>();
  });

  it('comments and docs point at files that exist (the design lives in docs/design.md)', () => {
    const sources = ['shared', 'functions', 'cli', 'chaos', 'scripts', 'sandbox', 'test', 'bench', 'infra'].flatMap((d) =>
      readdirSync(join(ROOT, d), { recursive: true, encoding: 'utf8' })
        .map((f) => join(d, f))
        .filter((f) => /\.(ts|ya?ml)$/.test(f)),
    );
    const docs = ['README.md', 'docs/design.md', 'docs/decisions.md', 'serverless.yml'];
    const mentionsDesignMd = [...sources, ...docs].filter(
      (f) => f !== 'test/architecture.test.ts' && readFileSync(join(ROOT, f), 'utf8').includes('DESIGN.md'),
    );
    expect(mentionsDesignMd).toEqual([]);
    const named = docs.flatMap((f) =>
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/`((?:shared|test|functions|cli|sandbox|bench|docs)\/[\w./-]+\.(?:ts|md))`/g)].map(
        (m) => m[1] as string,
      ),
    );
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((f) => !statSync(join(ROOT, f), { throwIfNoEntry: false }))).toEqual([]);
  });
});
