/**
 * The shell shared by the three Lambda handlers: middy, context-aware JSON logging, errors logged once, and
 * the run's figures flushed as CloudWatch embedded metrics at the end of every invocation.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { clipText } from './errors.js';
import { logger } from './logger.js';
import { metrics, recordRun } from './metrics.js';
import type { Report } from './reconcile/run.js';
import { tracer } from './tracing.js';

const wouldDo = (a: Report['actions'][number]) => ({
  kind: a.kind,
  instanceId: a.instanceId,
  hostId: a.hostId,
  hostName: a.detail?.hostName,
  reason: a.reason,
  ...(a.outcome === 'held' ? { held: a.heldBecause } : {}),
});

export function lambda(name: string, run: (event: unknown, context: Context) => Promise<Report>) {
  return middy(async (event: unknown, context: Context) => {
    const report = await run(event, context);
    recordRun(metrics(), report, event);
    logger.info(`${name} finished`, {
      status: report.status,
      counts: report.counts,
      skipped: report.skipped,
      dryRun: report.dryRun,
      circuitBreaker: report.circuitBreaker,
      warnings: report.warnings,
      // A dry-run rollout is read in the logs: say what would have been done (the first 200 actions).
      ...(report.dryRun ? { wouldDo: report.actions.slice(0, 200).map(wouldDo) } : {}),
    });
    // Nothing silent: what a person should look at is a WARN line, not buried in the INFO one.
    if (report.warnings?.length) logger.warn(`${name}: ${report.warnings.length} warning(s)`, { warnings: report.warnings.slice(0, 50) });
    return report;
  })
    // The invocation's X-Ray segment; the run's steps are its subsegments (shared/tracing.ts). The report is
    // not attached as metadata: a sweep's runs to thousands of actions.
    .use(captureLambdaHandler(tracer(), { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics(), { captureColdStartMetric: true }))
    .use({
      onError: async (request) => {
        const e = request.error as Error | undefined;
        // Clipped: a message may quote input, and one log line must stay readable.
        logger.error(`${name} failed`, { error: { name: e?.name, message: clipText(e?.message ?? '', 2000) } });
      },
    });
}
