import { Logger } from '@aws-lambda-powertools/logger';

/** JSON logs. Nothing logged carries the API key: the config is never logged whole. */
export const logger = new Logger({
  serviceName: 'mackerel-reconciler',
  logLevel: (process.env.LOG_LEVEL ?? 'INFO') as 'INFO',
});
