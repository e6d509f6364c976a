import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Handler JSON logs and embedded metrics would drown the test output, and the ERROR lines of handlers
    // failing on purpose read like failures: tests assert on reports and logger spies, not on log output.
    // (test/metrics.test.ts turns metrics back on to look at them.)
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      // The SDK's "node >= 22 from 2027" notice: the deployed runtime is nodejs22.x.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
