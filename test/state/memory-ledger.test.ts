/** The in-memory ledger: the contract, and that nobody holds a reference into what it stores. */
import { describe, expect, it } from 'vitest';
import { MemoryLedger } from '../../shared/state/memory-ledger.js';
import { commit, LEASE, ledgerContract, NOW, NOW_S, record } from './ledger.contract.js';

ledgerContract('MemoryLedger', async () => new MemoryLedger());

describe('MemoryLedger', () => {
  it('hands out copies: changing what was read changes nothing stored', async () => {
    const ledger = new MemoryLedger();
    await ledger.begin(commit({ next: record() }), 'a', NOW, LEASE);
    const read = await ledger.loadInstances(['i-1'], NOW_S);
    (read.records[0] as { state: string }).state = 'terminated';
    read.records[0]?.linkedHostIds.push('h9');
    expect((await ledger.loadInstances(['i-1'], NOW_S)).records).toMatchObject([{ state: 'running', linkedHostIds: ['h1'] }]);
  });
});
