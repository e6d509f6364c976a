// SSM GetParameter over the JSON 1.1 protocol, reached by the real `@aws-sdk/client-ssm` (through Powertools
// Parameters) via `AWS_ENDPOINT_URL_SSM`: enough to run a packaged function with the environment its template
// gives it, where the Mackerel API key is an SSM SecureString name rather than the key itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeServer, readBody } from './http.js';

export interface SsmCall {
  target: string;
  name?: string;
  withDecryption?: boolean;
  status: number;
}

interface StoredParameter {
  value: string;
  type: 'String' | 'SecureString';
  version: number;
}

export class FakeSsm extends FakeServer {
  readonly calls: SsmCall[] = [];
  private readonly parameters = new Map<string, StoredParameter>();

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
    if (req.method !== 'POST' || target !== 'AmazonSSM.GetParameter') {
      const message = `the sandbox serves GetParameter only, not ${target}`;
      reply(400, { __type: 'UnknownOperationException', message });
      return;
    }
    let body: { Name?: unknown; WithDecryption?: unknown };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      reply(400, { __type: 'SerializationException', message: 'body is not JSON' });
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
}
