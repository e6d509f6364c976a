/** The real Alertmanager for tests: the sandbox's launcher (`npm start` uses it too). */
export * from '../../sandbox/real-alertmanager.js';
