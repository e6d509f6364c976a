/** The Alertmanager effectors through the executor: per-item outcomes, the backend named, no port = failed. */
import { describe, expect, it } from 'vitest';
import { execute } from '../../shared/reconcile/execute.js';
import type { SilenceBackend } from '../../shared/reconcile/ports.js';
import type { ExpireSilenceAction, SilenceAction } from '../../shared/reconcile/types.js';
import { planOf } from '../support/builders.js';
import { fakePorts } from '../support/fakes.js';

const silence = (instanceId: string): SilenceAction => ({
  kind: 'am-silence',
  key: `am-silence#${instanceId}@1#new`,
  instanceId,
  instanceState: 'stopped',
  reason: `instance ${instanceId} is stopped`,
  findings: [],
  endsAt: Date.UTC(2026, 11, 1),
});
const expire = (id: string): ExpireSilenceAction => ({
  kind: 'am-expire',
  key: `am-expire#${id}`,
  instanceId: 'i-3',
  instanceState: 'running',
  reason: 'running again',
  findings: [],
  silenceId: id,
});
const opts = { runId: 'r1', dryRun: false, clock: () => Date.UTC(2026, 10, 30) };

describe('Alertmanager effectors', () => {
  it('settles each silence by its own outcome and names the backend', async () => {
    const seen: string[] = [];
    const backend: SilenceBackend = {
      view: () => Promise.resolve({ silences: [], imdsAlerts: [] }),
      putSilences: (specs) => {
        seen.push(...specs.map((s) => `${s.instanceId}:${s.comment}`));
        return Promise.resolve({ done: ['i-1'], failed: [{ id: 'i-2', error: new Error('500') }] });
      },
      expireSilences: (ids) => Promise.resolve({ done: [...ids], failed: [] }),
      postAlerts: () => Promise.resolve({ done: [], failed: [] }),
    };
    const res = await execute(planOf([silence('i-1'), silence('i-2'), expire('s-9')]), { ...fakePorts(), silences: backend }, opts);
    expect(seen).toEqual(['i-1:instance i-1 is stopped', 'i-2:instance i-2 is stopped']);
    expect(res.results.map((r) => [r.key, r.outcome, r.backend])).toEqual([
      ['am-silence#i-1@1#new', 'done', 'alertmanager'],
      ['am-silence#i-2@1#new', 'failed', 'alertmanager'],
      ['am-expire#s-9', 'done', 'alertmanager'],
    ]);
  });

  it('fails its actions, without throwing, when the backend is off', async () => {
    const res = await execute(planOf([silence('i-1')]), fakePorts(), opts);
    expect(res.results).toMatchObject([{ outcome: 'failed', error: expect.stringMatching(/ALERTMANAGER_URL/) }]);
  });
});
