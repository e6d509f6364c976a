import { FakeAlertmanager } from '../../sandbox/alertmanager-server.js';
import { alertmanagerContract } from './contract.js';

alertmanagerContract(
  'sandbox fake',
  async () => {
    const fake = new FakeAlertmanager();
    await fake.start();
    return { url: fake.url, stop: () => fake.stop() };
  },
  async () => {
    const fake = new FakeAlertmanager();
    fake.requiredAuthorization = 'Bearer s3cret-token';
    await fake.start();
    return { url: fake.url, credential: 'Bearer s3cret-token', stop: () => fake.stop() };
  },
);
