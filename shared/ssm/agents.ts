/**
 * `InstanceManager` over SSM: which instances SSM manages (DescribeInstanceInformation), and the agent repair
 * (Run Command `AWS-RunShellScript`: stop mackerel-agent, remove its host id file, start it). The adapter owns
 * SSM's limits: 50 instance ids a SendCommand, 50 ids a DescribeInstanceInformation filter, paging.
 */
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { ReconcileError } from '../errors.js';
import type { CommandResult, ManagedInstance } from '../reconcile/model.js';
import type { BulkOutcome, InstanceManager, SentCommand } from '../reconcile/ports.js';

/** SendCommand takes at most 50 instance ids; DescribeInstanceInformation's InstanceIds filter as many. */
export const SSM_BATCH = 50;
export const REPAIR_DOCUMENT = 'AWS-RunShellScript';

/**
 * The documented fix for an agent that posts to the wrong host: with the id file gone the agent registers again
 * and, with IMDS reachable, adopts the host that carries its instance's customIdentifier.
 */
export const REPAIR_COMMANDS = [
  'set -e',
  'systemctl stop mackerel-agent || service mackerel-agent stop',
  'rm -f /var/lib/mackerel-agent/id',
  'systemctl start mackerel-agent || service mackerel-agent start',
  'sleep 5',
  'systemctl is-active mackerel-agent || service mackerel-agent status',
];

/** SSM answered something the adapter cannot read. */
export class SsmShapeError extends ReconcileError {
  override readonly name = 'SsmShapeError';
  constructor(
    readonly operation: string,
    readonly field: string,
  ) {
    super(`SSM ${operation} answered without ${field}`);
  }
}

export interface SsmAgentsOptions {
  clientFor?: (region: string) => SSMClient;
  /** attempts per command, SDK retries included; default 6 */
  maxAttempts?: number;
}

const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

const errorName = (e: unknown) => (e as { name?: string })?.name ?? '';
/** The end of an output: what went wrong is usually last. */
const tail = (s: string | undefined, n = 600) => (s && s.length > n ? `…${s.slice(-n)}` : s || undefined);

export class SsmAgents implements InstanceManager {
  /** commands sent, and attempts the SDK repeated (throttling, 5xx) */
  readonly stats = { describeCalls: 0, sendCalls: 0, resultCalls: 0, retries: 0 };
  readonly #clientFor: (region: string) => SSMClient;

  constructor(opts: SsmAgentsOptions = {}) {
    const maxAttempts = opts.maxAttempts ?? 6;
    const clients = new Map<string, SSMClient>();
    // The SDK picks up AWS_ENDPOINT_URL_SSM by itself.
    this.#clientFor =
      opts.clientFor ??
      ((region) => {
        let client = clients.get(region);
        if (!client) {
          client = new SSMClient({ region, maxAttempts });
          clients.set(region, client);
        }
        return client;
      });
  }

  async describeManaged(region: string, instanceIds: readonly string[]): Promise<ManagedInstance[]> {
    const out: ManagedInstance[] = [];
    for (const ids of chunks([...new Set(instanceIds)], SSM_BATCH)) {
      let token: string | undefined;
      do {
        this.stats.describeCalls++;
        const res = await this.#clientFor(region).send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: 'InstanceIds', Values: ids }],
            MaxResults: SSM_BATCH,
            NextToken: token,
          }),
        );
        this.#count(res);
        for (const info of res.InstanceInformationList ?? []) {
          if (!info.InstanceId) continue;
          out.push({
            instanceId: info.InstanceId,
            pingStatus: info.PingStatus ?? 'Unknown',
            platformType: info.PlatformType ?? 'Unknown',
          });
        }
        token = res.NextToken || undefined;
      } while (token);
    }
    return out;
  }

  async reregisterAgents(region: string, instanceIds: readonly string[]): Promise<BulkOutcome<SentCommand>> {
    const outcome: BulkOutcome<SentCommand> = { done: [], failed: [] };
    for (const ids of chunks([...new Set(instanceIds)], SSM_BATCH)) {
      try {
        this.stats.sendCalls++;
        const res = await this.#clientFor(region).send(
          new SendCommandCommand({
            DocumentName: REPAIR_DOCUMENT,
            InstanceIds: ids,
            Parameters: { commands: REPAIR_COMMANDS },
            Comment: 'mackerel-reconciler: re-register mackerel-agent',
            TimeoutSeconds: 600,
          }),
        );
        this.#count(res);
        const commandId = res.Command?.CommandId;
        if (!commandId) throw new SsmShapeError('SendCommand', 'Command.CommandId');
        outcome.done.push(...ids.map((instanceId) => ({ instanceId, commandId })));
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        outcome.failed.push(...ids.map((instanceId) => ({ id: { instanceId, commandId: '' }, error })));
      }
    }
    return outcome;
  }

  async commandResult(region: string, commandId: string, instanceId: string): Promise<CommandResult> {
    try {
      this.stats.resultCalls++;
      const res = await this.#clientFor(region).send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
      );
      this.#count(res);
      const output = res.Status === 'Success' ? res.StandardOutputContent : res.StandardErrorContent || res.StandardOutputContent;
      return { commandId, instanceId, status: res.Status ?? 'Unknown', ...(tail(output) ? { output: tail(output) } : {}) };
    } catch (e) {
      // Right after SendCommand the invocation may not exist yet: not a failure, a later run reads it again.
      if (errorName(e) === 'InvocationDoesNotExist') return { commandId, instanceId, status: 'Unknown' };
      throw e;
    }
  }

  #count(res: { $metadata?: { attempts?: number } }): void {
    this.stats.retries += Math.max(0, (res.$metadata?.attempts ?? 1) - 1);
  }
}
