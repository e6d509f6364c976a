// A fake STS Query API answering GetCallerIdentity, reached by the real `@aws-sdk/client-sts` through
// `AWS_ENDPOINT_URL_STS`: the command line learns its account id from STS, as it would against AWS.
// Like STS, a request without a SigV4 `sts` credential scope is refused, and errors come as `<ErrorResponse>`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeServer, readBody, sleep } from './http.js';
import { BASE62, randomChars, randomUuid } from './random.js';

export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const STS_VERSION = '2011-06-15';
const CREDENTIAL_SCOPE = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/sts\/aws4_request/;

export interface StsCallLogEntry {
  action: string;
  /** from the SigV4 credential scope */
  region: string;
  accessKeyId: string;
  status: number;
  at: number;
}

export interface StsFault {
  status: number;
  code: string;
  message: string;
}

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export class FakeSts extends FakeServer {
  latencyMs: number;
  readonly accountId: string;
  /** the identity GetCallerIdentity answers with */
  readonly arn: string;
  readonly userId: string;
  readonly calls: StsCallLogEntry[] = [];

  private readonly rng: () => number;
  private fault: StsFault | undefined;

  constructor(opts: { accountId?: string; latencyMs?: number; rng?: () => number } = {}) {
    super();
    this.accountId = opts.accountId ?? '123456789012';
    this.latencyMs = opts.latencyMs ?? 0;
    this.rng = opts.rng ?? Math.random;
    this.arn = `arn:aws:iam::${this.accountId}:user/sandbox`;
    this.userId = `AIDA${randomChars(this.rng, BASE62, 17).toUpperCase()}`;
  }

  /** Every following call fails with this error (e.g. ExpiredToken), until `fail(null)`. */
  fail(fault: StsFault | null): void {
    this.fault = fault ?? undefined;
  }

  protected bugBody(message: string): string {
    return this.errorXml('InternalFailure', message, 'sandbox-bug', 'Receiver');
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const action = params.Action ?? '';
    const scope = CREDENTIAL_SCOPE.exec(req.headers.authorization ?? '');
    const requestId = randomUuid(this.rng);

    let status = 200;
    let xml: string;
    try {
      if (!scope) {
        throw new StsError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
      }
      if (this.fault) throw new StsError(this.fault.status, this.fault.code, this.fault.message);
      // The only operation the reconciler uses; anything else is a bug worth a loud answer.
      if (req.method !== 'POST' || action !== 'GetCallerIdentity' || params.Version !== STS_VERSION) {
        const version = params.Version ?? '(none)';
        throw new StsError(400, 'InvalidAction', `Could not find operation ${action} for version ${version}`);
      }
      xml = this.callerIdentityXml(requestId);
    } catch (err) {
      if (!(err instanceof StsError)) throw err;
      status = err.status;
      xml = this.errorXml(err.code, err.message, requestId, err.status >= 500 ? 'Receiver' : 'Sender');
    }

    await sleep(this.latencyMs);
    this.calls.push({ action, region: scope?.[2] ?? '', accessKeyId: scope?.[1] ?? '', status, at });
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(xml);
  }

  private callerIdentityXml(requestId: string): string {
    return (
      `<GetCallerIdentityResponse xmlns="${STS_XMLNS}">\n` +
      '  <GetCallerIdentityResult>\n' +
      `    <Arn>${escapeXml(this.arn)}</Arn>\n` +
      `    <UserId>${escapeXml(this.userId)}</UserId>\n` +
      `    <Account>${escapeXml(this.accountId)}</Account>\n` +
      '  </GetCallerIdentityResult>\n' +
      '  <ResponseMetadata>\n' +
      `    <RequestId>${requestId}</RequestId>\n` +
      '  </ResponseMetadata>\n' +
      '</GetCallerIdentityResponse>\n'
    );
  }

  private errorXml(code: string, message: string, requestId: string, type: 'Sender' | 'Receiver'): string {
    return (
      `<ErrorResponse xmlns="${STS_XMLNS}">\n` +
      `  <Error>\n    <Type>${type}</Type>\n    <Code>${escapeXml(code)}</Code>\n` +
      `    <Message>${escapeXml(message)}</Message>\n  </Error>\n` +
      `  <RequestId>${requestId}</RequestId>\n` +
      '</ErrorResponse>\n'
    );
  }
}
