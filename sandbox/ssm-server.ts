// SSM over the JSON 1.1 protocol, reached by the real `@aws-sdk/client-ssm` via `AWS_ENDPOINT_URL_SSM`:
// GetParameter (the Mackerel API key as an SSM SecureString name, through Powertools Parameters), and for the
// agent repair DescribeInstanceInformation, SendCommand and GetCommandInvocation. `onCommand` lets the sandbox
// play the agent re-registering (sandbox/agent-sim.ts).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeServer, readBody } from './http.js';

export interface SsmCall {
  target: string;
  name?: string;
  withDecryption?: boolean;
  status: number;
}

/** An instance SSM manages, as DescribeInstanceInformation shows it. */
export interface ManagedNode {
  instanceId: string;
  pingStatus: 'Online' | 'ConnectionLost' | 'Inactive';
  platformType: 'Linux' | 'Windows' | 'MacOS';
}

export interface SentCommandRecord {
  commandId: string;
  documentName: string;
  instanceIds: string[];
  commands: string[];
  at: number;
}

interface Invocation {
  status: 'InProgress' | 'Success' | 'Failed';
  output: string;
  error: string;
}

/** SendCommand's limit on instance ids (the real API's). */
export const SEND_COMMAND_MAX_TARGETS = 50;

interface StoredParameter {
  value: string;
  type: 'String' | 'SecureString';
  version: number;
}

export class FakeSsm extends FakeServer {
  readonly calls: SsmCall[] = [];
  private readonly parameters = new Map<string, StoredParameter>();
  readonly managed = new Map<string, ManagedNode>();
  readonly commands: SentCommandRecord[] = [];
  private readonly invocations = new Map<string, Invocation>();
  /**
   * Called as a command reaches each instance: what the command does there and how it ends (Success unless
   * said otherwise). The sandbox plays the agent re-registering here.
   */
  onCommand: ((instanceId: string, command: SentCommandRecord) => { status: 'Success' | 'Failed'; output?: string } | void) | undefined;
  /** invocations answer InProgress this many reads before their end */
  inProgressReads = 0;
  private readonly reads = new Map<string, number>();

  constructor(
    readonly accountId = '123456789012',
    readonly region = 'ap-northeast-1',
  ) {
    super();
  }

  put(name: string, value: string, type: StoredParameter['type'] = 'SecureString'): void {
    const version = (this.parameters.get(name)?.version ?? 0) + 1;
    this.parameters.set(name, { value, type, version });
  }

  /** SSM manages this instance (its agent is registered), Online and Linux unless said otherwise. */
  manage(instanceId: string, over: Partial<Omit<ManagedNode, 'instanceId'>> = {}): void {
    this.managed.set(instanceId, { instanceId, pingStatus: 'Online', platformType: 'Linux', ...over });
  }

  /** SendCommand calls that reached the server, per instance id. */
  commandsFor(instanceId: string): SentCommandRecord[] {
    return this.commands.filter((c) => c.instanceIds.includes(instanceId));
  }

  protected bugBody(message: string): string {
    return JSON.stringify({ __type: 'InternalServerError', message });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const reply = (status: number, body: unknown, call: Omit<SsmCall, 'status' | 'target'> = {}) => {
      this.calls.push({ target, status, ...call });
      res.statusCode = status;
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      res.end(JSON.stringify(body));
    };
    const served = ['GetParameter', 'DescribeInstanceInformation', 'SendCommand', 'GetCommandInvocation'];
    const op = target.replace(/^AmazonSSM\./, '');
    if (req.method !== 'POST' || !target.startsWith('AmazonSSM.') || !served.includes(op)) {
      const message = `the sandbox serves ${served.join(', ')} only, not ${target}`;
      reply(400, { __type: 'UnknownOperationException', message });
      return;
    }
    let body: { Name?: unknown; WithDecryption?: unknown } & Record<string, unknown>;
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      reply(400, { __type: 'SerializationException', message: 'body is not JSON' });
      return;
    }
    if (op !== 'GetParameter') {
      const [status, answer] = this.runCommandApi(op, body);
      reply(status, answer);
      return;
    }
    if (typeof body.Name !== 'string' || body.Name === '') {
      reply(400, { __type: 'ValidationException', message: 'Name is required' });
      return;
    }
    const name = body.Name;
    const withDecryption = body.WithDecryption === true;
    const stored = this.parameters.get(name);
    if (!stored) {
      reply(400, { __type: 'ParameterNotFound', message: `parameter ${name} not found` }, { name, withDecryption });
      return;
    }
    // Like SSM: a SecureString read without decryption answers the ciphertext, never the value.
    const value =
      stored.type === 'SecureString' && !withDecryption
        ? Buffer.from(`encrypted:${stored.value}`).toString('base64')
        : stored.value;
    reply(
      200,
      {
        Parameter: {
          Name: name,
          Type: stored.type,
          Value: value,
          Version: stored.version,
          DataType: 'text',
          LastModifiedDate: Math.floor(Date.now() / 1000),
          ARN: `arn:aws:ssm:${this.region}:${this.accountId}:parameter/${name.replace(/^\//, '')}`,
        },
      },
      { name, withDecryption },
    );
  }

  private runCommandApi(op: string, body: Record<string, unknown>): [number, unknown] {
    const invalid = (message: string): [number, unknown] => [400, { __type: 'ValidationException', message }];
    if (op === 'DescribeInstanceInformation') {
      const filters = Array.isArray(body.Filters) ? (body.Filters as { Key?: string; Values?: unknown }[]) : [];
      const ids = filters.find((f) => f.Key === 'InstanceIds')?.Values;
      if (ids !== undefined && (!Array.isArray(ids) || ids.length === 0 || ids.length > 50)) {
        return invalid('InstanceIds filter takes 1 to 50 values');
      }
      const wanted = ids === undefined ? undefined : new Set(ids as string[]);
      const all = [...this.managed.values()].filter((m) => !wanted || wanted.has(m.instanceId));
      const max = typeof body.MaxResults === 'number' ? body.MaxResults : 50;
      if (max < 5 || max > 50) return invalid('MaxResults must be from 5 to 50');
      const start = typeof body.NextToken === 'string' ? Number(body.NextToken) : 0;
      const page = all.slice(start, start + max).map((m) => ({
        InstanceId: m.instanceId,
        PingStatus: m.pingStatus,
        PlatformType: m.platformType,
        ResourceType: 'EC2Instance',
        AgentVersion: '3.3.0.0',
      }));
      const next = start + max < all.length ? { NextToken: String(start + max) } : {};
      return [200, { InstanceInformationList: page, ...next }];
    }
    if (op === 'SendCommand') {
      const ids = body.InstanceIds;
      if (body.DocumentName !== 'AWS-RunShellScript') return invalid('the sandbox runs AWS-RunShellScript only');
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > SEND_COMMAND_MAX_TARGETS) {
        return invalid(`InstanceIds takes 1 to ${SEND_COMMAND_MAX_TARGETS} ids`);
      }
      const commands = ((body.Parameters as { commands?: string[] } | undefined)?.commands ?? []).map(String);
      const record: SentCommandRecord = {
        commandId: randomUUID(),
        documentName: String(body.DocumentName),
        instanceIds: ids.map(String),
        commands,
        at: Math.floor(Date.now() / 1000),
      };
      this.commands.push(record);
      for (const id of record.instanceIds) {
        // An instance SSM does not manage (or not Online) never runs it: Undeliverable in real life, Failed here.
        const online = this.managed.get(id)?.pingStatus === 'Online';
        const end = online ? (this.onCommand?.(id, record) ?? { status: 'Success' as const }) : { status: 'Failed' as const, output: 'Undeliverable' };
        this.invocations.set(`${record.commandId}#${id}`, {
          status: end.status,
          output: end.status === 'Success' ? (end.output ?? 'mackerel-agent restarted') : '',
          error: end.status === 'Failed' ? (end.output ?? 'failed') : '',
        });
      }
      return [200, { Command: { CommandId: record.commandId, DocumentName: record.documentName, InstanceIds: record.instanceIds, Status: 'Pending' } }];
    }
    // GetCommandInvocation
    const key = `${String(body.CommandId)}#${String(body.InstanceId)}`;
    const inv = this.invocations.get(key);
    if (!inv) return [400, { __type: 'InvocationDoesNotExist', message: 'invocation does not exist' }];
    const reads = (this.reads.get(key) ?? 0) + 1;
    this.reads.set(key, reads);
    const status = reads <= this.inProgressReads ? 'InProgress' : inv.status;
    return [
      200,
      {
        CommandId: body.CommandId,
        InstanceId: body.InstanceId,
        DocumentName: 'AWS-RunShellScript',
        Status: status,
        StatusDetails: status,
        ResponseCode: status === 'Success' ? 0 : status === 'Failed' ? 1 : -1,
        StandardOutputContent: status === 'InProgress' ? '' : inv.output,
        StandardErrorContent: status === 'InProgress' ? '' : inv.error,
      },
    ];
  }
}
