/** Reports as text: every action with its reason, the summary, and clipping only on a terminal. */
import { describe, expect, it } from 'vitest';
import { differences } from '../../cli/apply.js';
import { actionsTable, change, renderOutcomes, renderPlan, wrap } from '../../cli/table.js';
import type { ActionResult } from '../../shared/reconcile/execute.js';
import type { Report } from '../../shared/reconcile/run.js';

const DNS = 'ip-10-0-1-23.ap-northeast-1.compute.internal';

const retire: ActionResult = {
  key: 'retire#h1',
  kind: 'retire',
  instanceId: 'i-0000000000000001a',
  instanceState: 'terminated',
  hostId: 'h1',
  outcome: 'planned',
  reason: 'instance i-0000000000000001a is terminated',
  detail: { hostName: DNS, retireReason: 'instance-terminated' },
};
const poweroff: ActionResult = {
  key: 'status#h2#poweroff#i-0000000000000002b@1',
  kind: 'set-status',
  instanceId: 'i-0000000000000002b',
  instanceState: 'stopped',
  hostId: 'h2',
  outcome: 'planned',
  reason: 'instance i-0000000000000002b is stopped',
  detail: { hostName: 'web-2', from: 'working', to: 'poweroff' },
};
const check: ActionResult = {
  key: 'check#imds-disabled#h3#WARNING#0',
  kind: 'report-check',
  instanceId: 'i-0000000000000003c',
  instanceState: 'running',
  hostId: 'h3',
  outcome: 'planned',
  reason:
    'Instance i-0000000000000003c has its instance metadata service disabled (MetadataOptions.HttpEndpoint=disabled): ' +
    'mackerel-agent cannot read its instance id and registers duplicate hosts.',
  detail: { name: 'imds-disabled', status: 'WARNING' },
};

function report(over: Partial<Report> = {}): Report {
  return {
    trigger: 'cli',
    runId: 'r',
    accountId: '123456789012',
    dryRun: true,
    dryRunDecidedBy: 'request',
    startedAt: '2026-11-21T12:00:00.000Z',
    durationMs: 5,
    status: 'ok',
    regions: [{ region: 'ap-northeast-1', ok: true, instanceCount: 40 }],
    counts: { hosts: 42, instances: 40, linkedHosts: 39, foreignHosts: 2, planned: 3, held: 0, done: 0, failed: 0 },
    actions: [poweroff, check, retire],
    findings: { published: 0, failed: 0, detailTypes: { 'Host Retired': 1, 'Host Status Changed': 1 } },
    ambiguities: [],
    foreignHostIds: ['f1', 'f2'],
    ignoredInstanceIds: [],
    unknownInstanceIds: [],
    unreadableHosts: [],
    errors: [],
    apiRetries: { mackerel: 0, ec2: 0 },
    circuitBreaker: { tripped: false, retirements: 1, ownedHosts: 39, maxPerRun: 50, maxPercent: 20 },
    ...over,
  };
}

describe('held retirements', () => {
  it('the plan shows what the circuit breaker holds back, in its own section, with the limits and the way past it', () => {
    const heldRetire: ActionResult = { ...retire, outcome: 'held', heldBecause: 'held by the circuit breaker: 60 retirements planned' };
    const text = renderPlan(
      report({
        actions: [heldRetire],
        circuitBreaker: { tripped: true, retirements: 60, ownedHosts: 100, maxPerRun: 50, maxPercent: 20 },
      }),
    );
    expect(text).toContain('No changes will be made, but some are held back (below).');
    expect(text).toContain('Held back by the circuit breaker: 1 retirement (limits: 50 a run, or 20% of 100 owned hosts)');
    expect(text).toContain(heldRetire.hostId as string);
    expect(text).toContain('{"instanceIds": [...]}');
    expect(text).not.toContain('No changes: the Mackerel hosts');
  });
});

describe('unreadable hosts', () => {
  it('the summary names each quarantined host, its field and problem, capped at ten', () => {
    const odd = Array.from({ length: 12 }, (_, i) => ({ id: `h${i}`, field: `hosts.${i}.meta`, problem: 'expected object' }));
    const text = renderPlan(report({ unreadableHosts: odd }));
    expect(text).toContain('Unreadable: 12 hosts of the wrong shape, left alone (the rest was reconciled): h0 hosts.0.meta: expected object;');
    expect(text).toContain('h9 hosts.9.meta');
    expect(text).not.toContain('h10 hosts.10.meta');
    expect(text).toContain('; and 2 more');
    expect(renderPlan(report())).not.toContain('Unreadable');
  });
});

describe('renderPlan', () => {
  it('a table of every action with its state and change, each reason beneath, then the summary', () => {
    expect(renderPlan(report())).toBe(
      [
        'Plan: 3 actions (1 set-status, 1 report-check, 1 retire)',
        '',
        'KIND          HOST  NAME                                          INSTANCE             STATE       CHANGE',
        'set-status    h2    web-2                                         i-0000000000000002b  stopped     working → poweroff',
        '    why: instance i-0000000000000002b is stopped',
        'report-check  h3    -                                             i-0000000000000003c  running     check imds-disabled: WARNING',
        `    why: ${check.reason}`,
        `retire        h1    ${DNS}  i-0000000000000001a  terminated  → retired`,
        '    why: instance i-0000000000000001a is terminated',
        '',
        'Read: 42 Mackerel hosts; 40 instances (ap-northeast-1: 40); 39 hosts linked to instances of account 123456789012',
        'Circuit breaker: ok (1 retirement of 39 owned hosts; limits 50 a run or 20%)',
        'Foreign hosts: 2 (their instances were never seen by this account: left alone)',
        'Findings it would publish: Host Retired ×1, Host Status Changed ×1',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal, long names and changes are clipped and reasons wrapped to the width', () => {
    const roles = Array.from({ length: 8 }, (_, i) => `shop:role-${i}`);
    const merge: ActionResult = { ...check, kind: 'merge-roles', detail: { roleFullnames: roles } };
    const text = actionsTable([retire, check, merge], { width: 80 });
    const lines = text.split('\n').filter(Boolean);
    expect(lines[1]).toContain('  ip-10-0-1-23.ap-northeast-1…  ');
    expect(lines.at(-4)?.endsWith('  roles → shop:role-0,shop:role-1…')).toBe(true);
    // Not clipped without a terminal.
    expect(actionsTable([merge])).toContain(`roles → ${roles.join(',')}\n`);
    // The reason is all there, over several lines of at most 80 columns.
    const why = lines.filter((l) => l.startsWith('    ')).map((l) => l.trim());
    expect(why.every((l) => l.length <= 76)).toBe(true);
    expect(why.slice(1, -3).join(' ')).toBe(`why: ${check.reason}`);
  });

  it('says when there is nothing to do, and what it held back: breaker, failed region, ambiguity, ignored, unknown', () => {
    const text = renderPlan(
      report({
        actions: [],
        status: 'partial',
        regions: [
          { region: 'ap-northeast-1', ok: true, instanceCount: 40 },
          { region: 'us-east-1', ok: false, instanceCount: 0, error: 'UnauthorizedOperation: no' },
        ],
        circuitBreaker: { tripped: true, retirements: 60, ownedHosts: 100, maxPerRun: 50, maxPercent: 20 },
        ambiguities: [{ hostId: 'hx', candidates: ['i-a', 'i-b'] }],
        ignoredInstanceIds: ['i-ign'],
        unknownInstanceIds: ['i-unk'],
        findings: { published: 0, failed: 0, detailTypes: {} },
      }),
    );
    // A region that could not be read: never headlined "No changes".
    expect(text).toContain('Incomplete: EC2 could not be read in us-east-1 (below); the plan covers only what was read.\n');
    expect(text).not.toContain('No changes');
    expect(text).toContain('40 instances (ap-northeast-1: 40, us-east-1: FAILED)');
    expect(text).toContain('Region us-east-1 could not be read, so nothing is retired there: UnauthorizedOperation: no\n');
    expect(text).toContain(
      'Circuit breaker: TRIPPED: 60 retirements of 100 owned hosts is over the limit (50 a run, or 20%): nothing will be retired\n',
    );
    expect(text).toContain('Ambiguous: host hx could be i-a or i-b: left alone\n');
    expect(text).toContain('Ignored: 1 instance tagged mackerel-reconciler:ignore=true (i-ign)\n');
    expect(text).toContain('Unknown state: 1 instance (i-unk): left alone\n');
    expect(text).not.toContain('Findings');
  });

  it('prints every warning of the report, one line each', () => {
    const text = renderPlan(report({ warnings: ['i-0123456789abcdef0 is not known to EC2 in ap-northeast-1: nothing done'] }));
    expect(text).toContain('Warning: i-0123456789abcdef0 is not known to EC2 in ap-northeast-1: nothing done\n');
  });

  it('given instances have no circuit breaker, and says so', () => {
    expect(renderPlan(report({ circuitBreaker: undefined }))).toContain(
      'Circuit breaker: not applied to given instances',
    );
  });
});

describe('change', () => {
  it.each<[Partial<ActionResult>, string]>([
    [{ kind: 'retire', detail: {} }, '→ retired'],
    [{ kind: 'set-status', detail: { from: 'poweroff', to: 'standby' } }, 'poweroff → standby'],
    [{ kind: 'merge-roles', detail: { roleFullnames: ['shop:db', 'shop:web'] } }, 'roles → shop:db,shop:web'],
    [{ kind: 'report-check', detail: { name: 'duplicate-host', status: 'OK' } }, 'check duplicate-host: OK'],
    [{ kind: 'enable-imds', detail: { region: 'ap-northeast-1' } }, 'IMDS → enabled'],
    [{ kind: 'forget-memo', detail: { memo: 'restore' } }, 'forget restore memo'],
  ])('%j', (a, text) => {
    expect(change({ ...retire, ...a } as ActionResult)).toBe(text);
  });
});

describe('renderOutcomes and differences', () => {
  it('each action’s outcome, errors and notes beneath, counts in a fixed order', () => {
    const text = renderOutcomes(
      report({
        dryRun: false,
        actions: [
          { ...poweroff, outcome: 'not-confirmed' },
          { ...check, outcome: 'failed', error: 'Mackerel API 500 on POST /api/v0/monitoring/checks/report' },
          { ...retire, outcome: 'done' },
        ],
        findings: { published: 1, failed: 0, detailTypes: { 'Host Retired': 1 } },
      }),
    );
    expect(text).toContain('Applied: 1 done, 1 failed, 1 not-confirmed\n');
    expect(text).toContain('    error: Mackerel API 500 on POST /api/v0/monitoring/checks/report\n');
    expect(text).toContain('    note: planned only after the confirmation: not performed, run again to review it\n');
    expect(text).toMatch(/^done +retire +h1 /m);
    expect(text).toContain('Findings published: 1 (Host Retired ×1)\n');
  });

  it('names the confirmed actions no longer needed and counts the ones planned after the confirmation', () => {
    const shown = report({ actions: [poweroff, retire] });
    const applied = report({
      dryRun: false,
      actions: [
        { ...retire, outcome: 'done' },
        { ...check, outcome: 'not-confirmed' },
      ],
    });
    expect(differences(shown, applied)).toBe(
      `The fleet changed after the plan: 1 confirmed action no longer needed, not performed: ${poweroff.key}\n` +
        '1 action planned only after the confirmation was not performed: run apply again to review.\n',
    );
    expect(differences(shown, report({ dryRun: false, actions: shown.actions }))).toBe('');
  });
});

describe('wrap', () => {
  it('breaks between words, a long word alone', () => {
    expect(wrap('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd']);
    expect(wrap('a verylongword b', 5)).toEqual(['a', 'verylongword', 'b']);
  });
});
