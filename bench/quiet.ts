/**
 * Imported first by bench/main.ts: the handlers' logger reads LOG_LEVEL once, when its module loads, and the
 * AWS SDK prints a Node-version notice; all would drown the tables. (ESM evaluates imports in order.)
 */
process.env.LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The handlers' embedded metrics (one JSON line per invocation on stdout) are for CloudWatch.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
