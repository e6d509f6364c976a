/** A dynalite for a test file, with an SDK client pointed at it. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamo } from '../../sandbox/dynamodb.js';

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  stop(): Promise<void>;
}

export async function localDynamo(): Promise<LocalDynamo> {
  const dynamo = await startDynamo();
  const client = new DynamoDBClient({
    region: 'ap-northeast-1',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  return {
    endpoint: dynamo.endpoint,
    client,
    async stop() {
      client.destroy();
      await dynamo.stop();
    },
  };
}
