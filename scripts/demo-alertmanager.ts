/**
 * `npm start`, the Alertmanager side: the same sandbox fleet, now with ALERTMANAGER_URL set (the real
 * Alertmanager when it is installed, else the sandbox's fake). Stopped instances get one silence each, IMDS-disabled
 * ones an `ImdsDisabled` alert; an instance started again has its silence expired; the next sweep writes no
 * silence (only the alert re-post, by design). Throws when that does not hold.
 */
import type { Context } from 'aws-lambda';
import { ec2StateChangeEvent, type Sandbox, scheduledEvent } from '../sandbox/index.js';
import { lambdaContext } from '../sandbox/lambda-context.js';
import { alertmanagerBinary, type RealAlertmanager, startRealAlertmanager } from '../sandbox/real-alertmanager.js';
import type { Report } from '../shared/reconcile/run.js';

type Handler = (event: unknown, context: Context) => Promise<Report>;

type RawSilence = { id: string; status: { state: string }; createdBy: string; endsAt: string; matchers: { value: string }[] };

const line = (s = '') => console.log(s);

async function listSilences(url: string): Promise<RawSilence[]> {
  return (await (await fetch(`${url}/api/v2/silences`)).json()) as RawSilence[];
}

async function alertsOf(url: string): Promise<{ labels: Record<string, string> }[]> {
  return (await (await fetch(`${url}/api/v2/alerts`)).json()) as { labels: Record<string, string> }[];
}

function counts(r: Report): string {
  const am = r.actions.filter((a) => a.backend === 'alertmanager');
  const by = (k: string) => am.filter((a) => a.kind === k && a.outcome === 'done').length;
  return `${by('am-silence')} silenced, ${by('am-expire')} expired, ${by('am-alert')} alerts posted (backends: ${JSON.stringify(r.backends ?? {})})`;
}

export async function demoAlertmanager(sb: Sandbox, h: { sweep: Handler; stateChange: Handler }): Promise<void> {
  let real: RealAlertmanager | undefined;
  if (alertmanagerBinary) real = await startRealAlertmanager();
  const url = real?.url ?? sb.alertmanager.url;
  line(`\nAlertmanager — ${real ? `the real Alertmanager (${alertmanagerBinary})` : 'the sandbox fake (install prometheus-alertmanager for the real one)'} at ${url}`);
  line('─'.repeat(60));
  process.env.ALERTMANAGER_URL = url;
  try {
    const sweep = () => h.sweep(scheduledEvent({ accountId: sb.accountId }), lambdaContext(sb.functionArn('sweep')));
    const first = await sweep();
    const live = (await listSilences(url)).filter((s) => s.status.state === 'active');
    line(`  sweep: ${counts(first)}`);
    for (const s of live) line(`    silence ${s.id.slice(0, 8)}  instance_id="${s.matchers[0]?.value}"  until ${s.endsAt}  by ${s.createdBy}`);
    for (const a of await alertsOf(url)) line(`    alert ${a.labels.alertname}  instance_id="${a.labels.instance_id}"`);
    if (live.length === 0) throw new Error('the Alertmanager sweep silenced no stopped instance');

    const stopped = live.map((s) => s.matchers[0]?.value ?? '').filter((id) => sb.ec2.instances.get(id)?.state === 'stopped');
    const started = stopped[0];
    if (!started) throw new Error('no stopped instance was silenced');
    sb.ec2.setState(started, 'running');
    // Its agent starts with the machine and posts again (it stopped posting when the instance stopped).
    const nowS = Math.floor(Date.now() / 1000);
    for (const host of sb.mackerel.hosts.values()) {
      const cloud = (host.meta?.cloud ?? {}) as { metadata?: Record<string, unknown> };
      if (host.customIdentifier === `${started}.ec2.amazonaws.com` || cloud.metadata?.['instance-id'] === started) {
        sb.mackerel.setLatestMetric(host.id, 'loadavg5', nowS, 0.3);
      }
    }
    const event = ec2StateChangeEvent({ accountId: sb.accountId, instanceId: started, state: 'running' });
    const back = await h.stateChange(event, lambdaContext(sb.functionArn('instance-state-change')));
    line(`  ${started} started again, its event: ${counts(back)}`);

    const again = await sweep();
    const silenceWrites = again.actions.filter((a) => a.kind === 'am-silence' || a.kind === 'am-expire');
    line(`  the next sweep: ${counts(again)}; silence writes: ${silenceWrites.length}`);
    if (silenceWrites.length > 0 || again.actions.some((a) => a.backend !== 'alertmanager' || a.kind !== 'am-alert')) {
      throw new Error(`the next sweep is not converged: ${again.actions.map((a) => a.key).join(', ')}`);
    }
  } finally {
    delete process.env.ALERTMANAGER_URL;
    await real?.stop();
  }
}
