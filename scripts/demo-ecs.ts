/**
 * The demo's part for issue #12: container hosts follow their ECS task, a Spot warning powers an instance's
 * hosts off before its termination (closing their open alerts), and the fleet still ends converged.
 * Called from scripts/demo.ts once the main scenario has converged; throws (the caller's failure) when a step
 * does not do what it shows.
 */
import { containerAgentHost, ec2StateChangeEvent, ecsTaskStateChangeEvent, type Sandbox, scheduledEvent, spotInterruptionEvent } from '../sandbox/index.js';
import { lambdaContext } from '../sandbox/lambda-context.js';
import type { Report } from '../shared/reconcile/run.js';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
const line = (s = '') => console.log(s);
const HOUR_S = 3600;

export async function demoEcs(sb: Sandbox, fail: (message: string) => Error): Promise<void> {
  const handlers: Record<string, Handler> = {
    'task-state-change': (await import('../functions/task-state-change/handler.js')).handler as Handler,
    'instance-state-change': (await import('../functions/instance-state-change/handler.js')).handler as Handler,
    sweep: (await import('../functions/sweep/handler.js')).handler as Handler,
  };
  const invoke = async (name: string, event: unknown) => {
    try {
      return (await handlers[name]!(event, lambdaContext(sb.functionArn(name)))) as Report;
    } catch (e) {
      throw fail(`the ${name} handler threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  };
  const show = (title: string, r: Report) => {
    line(`\n== ${title}`);
    for (const a of r.actions) line(`  ${a.kind.padEnd(12)} ${(a.hostId ?? a.instanceId).padEnd(14)} ${a.outcome.padEnd(10)} ${a.reason}`);
    if (r.actions.length === 0) line('  (no actions)');
    for (const e of r.events ?? []) line(`  event ${e.state}: ${e.outcome}${e.note ? ` (${e.note})` : ''}`);
  };
  const nowS = Math.floor(Date.now() / 1000);

  // ECS: two Fargate tasks with their container-agent hosts; one stops.
  const stopped = sb.ecs.addTask({ cluster: 'web' });
  const running = sb.ecs.addTask({ cluster: 'web' });
  const hostOf = (arn: string) => sb.mackerel.addHost({ ...containerAgentHost(arn), createdAt: nowS - 2 * HOUR_S }).id;
  const stoppedHost = hostOf(stopped.taskArn);
  const runningHost = hostOf(running.taskArn);
  sb.ecs.stopTask(stopped.taskArn);
  const taskEvent = ecsTaskStateChangeEvent({ accountId: sb.accountId, taskArn: stopped.taskArn, clusterArn: stopped.clusterArn });
  const onTask = await invoke('task-state-change', taskEvent);
  show(`ECS Task State Change: ${stopped.taskArn.split('/').pop()} STOPPED (mackerel-container-agent did not retire its host)`, onTask);
  if (!sb.mackerel.hosts.get(stoppedHost)?.isRetired || sb.mackerel.hosts.get(runningHost)?.isRetired) {
    throw fail('the stopped task’s host was not retired (or the running task’s was)');
  }

  // Spot: a running instance with an open connectivity alert gets its two-minute warning.
  const spot = sb.ec2.addInstance({ launchTime: new Date(Date.now() - 2 * HOUR_S * 1000) });
  const spotHost = sb.mackerel.addHost({
    name: spot.privateDnsName ?? spot.instanceId,
    customIdentifier: `${spot.instanceId}.ec2.amazonaws.com`,
    createdAt: nowS - HOUR_S,
  }).id;
  sb.mackerel.setLatestMetric(spotHost, 'loadavg5', nowS - 60, 0.2);
  const alert = sb.mackerel.addAlert({ hostId: spotHost, type: 'connectivity' });
  const warned = await invoke('instance-state-change', spotInterruptionEvent({ accountId: sb.accountId, instanceId: spot.instanceId }));
  show(`EC2 Spot Instance Interruption Warning: ${spot.instanceId} (still running)`, warned);
  if (sb.mackerel.hosts.get(spotHost)?.status !== 'poweroff') throw fail('the Spot warning did not power the host off');
  if (sb.mackerel.alerts.get(alert.id)?.closedAt === undefined) throw fail('the powered-off host’s open alert was not closed');
  line(`  alert ${alert.id} closed: "${sb.mackerel.alerts.get(alert.id)?.reason}"`);

  const held = await invoke('sweep', scheduledEvent({ accountId: sb.accountId }));
  show('Sweep while the instance still runs (within TERMINATING_HOLD_MINUTES)', held);
  if (held.actions.length > 0 || sb.mackerel.hosts.get(spotHost)?.status !== 'poweroff') {
    throw fail('the sweep restored a terminating host');
  }

  sb.ec2.setState(spot.instanceId, 'terminated');
  const ended = await invoke('instance-state-change', ec2StateChangeEvent({ accountId: sb.accountId, instanceId: spot.instanceId, state: 'terminated' }));
  show(`EC2 state-change: ${spot.instanceId} terminated two minutes later`, ended);
  if (!sb.mackerel.hosts.get(spotHost)?.isRetired) throw fail('the terminated Spot instance’s host was not retired');

  const writes = sb.mackerel.writeCalls().length;
  const last = await invoke('sweep', scheduledEvent({ accountId: sb.accountId }));
  show('Sweep — still converged with container hosts in the fleet?', last);
  const lastWrites = sb.mackerel.writeCalls().length - writes;
  line(`  ${last.counts.planned} actions planned, ${lastWrites} Mackerel write calls, ${sb.ecs.callsOf('DescribeTasks').length} DescribeTasks calls so far`);
  if (last.counts.planned > 0 || lastWrites > 0) throw fail('the fleet is not converged after the ECS and Spot steps');
}
