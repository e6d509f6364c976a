/** The machine a figure was measured on, recorded beside it. */
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { z } from 'zod';

export const Machine = z.object({
  cpuModel: z.string(),
  /** logical CPUs Node sees */
  cores: z.number().int(),
  memoryGiB: z.number(),
  node: z.string(),
  os: z.string(),
  /** 1, 5 and 15 minute load averages when the section started: the machine may be shared */
  loadAverage: z.array(z.number()),
});
export type Machine = z.infer<typeof Machine>;

export function machine(): Machine {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()}`,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
