import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateTable } from '../../sandbox/dynamodb.js';
import { type LocalDynamo, localDynamo } from '../support/dynamo.js';

let dynamo: LocalDynamo;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamo = await localDynamo();
  await createStateTable(dynamo.endpoint, 'state-test');
  client = dynamo.client;
});

afterAll(() => dynamo.stop());

describe('dynalite state table', () => {
  it('listens on 127.0.0.1 and creates an ACTIVE pk/sk on-demand table', async () => {
    expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'state-test' }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('honours a conditional PutItem: the first claim wins, the second fails', async () => {
    const claim = () =>
      client.send(
        new PutItemCommand({
          TableName: 'state-test',
          Item: { pk: { S: 'action#retire#h1' }, sk: { S: 'ledger' }, expiresAt: { N: '1900000000' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    await claim();
    await expect(claim()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: 'state-test',
        Key: { pk: { S: 'action#retire#h1' }, sk: { S: 'ledger' } },
      }),
    );
    expect(Item?.expiresAt).toEqual({ N: '1900000000' });
  });
});
