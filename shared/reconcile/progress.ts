/**
 * What observe reports while it reads, so that a person waiting on a large fleet sees it move (the command
 * line's progress line). Purely informative: a listener never changes what is read or decided.
 */
import type { RegionProgress } from './ports.js';

export type Progress =
  /** the Mackerel host list was read (one call: the API has no paging) */
  | { step: 'hosts'; hosts: number }
  /** DescribeInstances of one region: after each page, and once when the region is done or failed */
  | ({ step: 'instances' } & RegionProgress)
  /** the state table was read */
  | { step: 'state'; records: number }
  /** the latest metrics of duplicate candidates are being read */
  | { step: 'metrics'; hosts: number };

export type OnProgress = (progress: Progress) => void;

/** Calls the listener, if any; a listener that throws must not fail the run it watches. */
export function notify(listener: OnProgress | undefined, progress: Progress): void {
  if (!listener) return;
  try {
    listener(progress);
  } catch {
    // a broken progress line is not worth a failed reconciliation
  }
}

/** A read's result, passed through after telling the listener about it. */
export async function reported<T>(
  read: Promise<T>,
  listener: OnProgress | undefined,
  progress: (value: T) => Progress,
): Promise<T> {
  const value = await read;
  notify(listener, progress(value));
  return value;
}
