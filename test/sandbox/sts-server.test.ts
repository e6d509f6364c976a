import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../sandbox/random.js';
import { FakeSts } from '../../sandbox/sts-server.js';

const SEED = 4242;
console.log(`sts-server.test seed=${SEED}`);

let sts: FakeSts;
let client: STSClient;

beforeAll(async () => {
  sts = new FakeSts({ accountId: '210987654321', rng: mulberry32(SEED) });
  await sts.start();
  client = new STSClient({
    region: 'eu-west-1',
    endpoint: sts.url,
    credentials: { accessKeyId: 'AKIDSANDBOX', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await sts.stop();
});

beforeEach(() => {
  sts.calls.length = 0;
  sts.fail(null);
});

describe('FakeSts through the real STSClient', () => {
  it('answers GetCallerIdentity with its account, ARN and user id, and logs the signed call', async () => {
    const out = await client.send(new GetCallerIdentityCommand({}));

    expect(out).toMatchObject({
      Account: '210987654321',
      Arn: 'arn:aws:iam::210987654321:user/sandbox',
      UserId: sts.userId,
    });
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(sts.calls).toEqual([
      expect.objectContaining({
        action: 'GetCallerIdentity',
        region: 'eu-west-1',
        accessKeyId: 'AKIDSANDBOX',
        status: 200,
      }),
    ]);
  });

  it('the same seed gives the same user id', () => {
    expect(new FakeSts({ rng: mulberry32(SEED) }).userId).toBe(sts.userId);
    expect(sts.userId).toMatch(/^AIDA[0-9A-Z]{17}$/);
  });

  it('an injected fault reaches the SDK as a typed error with STS code and message', async () => {
    sts.fail({ status: 403, code: 'ExpiredToken', message: 'The security token included in the request is expired' });

    const err = await client.send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'ExpiredToken', message: 'The security token included in the request is expired' });
    expect(sts.calls.at(-1)).toMatchObject({ status: 403 });
  });

  it('refuses an unsigned request and an unknown action', async () => {
    const unsigned = await fetch(sts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain('<Code>MissingAuthenticationToken</Code>');

    const other = await fetch(sts.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: 'Action=AssumeRole&Version=2011-06-15',
    });
    expect(other.status).toBe(400);
    expect(await other.text()).toContain('<Code>InvalidAction</Code>');
    expect(sts.calls.map((c) => [c.action, c.status])).toEqual([
      ['GetCallerIdentity', 403],
      ['AssumeRole', 400],
    ]);
  });
});
