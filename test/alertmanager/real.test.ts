/** The contract suite against the real Alertmanager 0.25 (skipped loudly where the binary is missing, never in CI). */
import { describe } from 'vitest';
import { BASIC_PASSWORD, BASIC_USER, realAlertmanagerAvailable, startRealAlertmanager } from '../support/alertmanager.js';
import { alertmanagerContract } from './contract.js';

describe.skipIf(!realAlertmanagerAvailable())('real Alertmanager', () => {
  alertmanagerContract(
    'real Alertmanager',
    () => startRealAlertmanager(),
    async () => ({ ...(await startRealAlertmanager({ basicAuth: true })), credential: `${BASIC_USER}:${BASIC_PASSWORD}` }),
  );
});
