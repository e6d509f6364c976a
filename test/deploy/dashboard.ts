/**
 * Reading a CloudWatch dashboard body the way CloudWatch would: every metric a widget names, whether as a metric
 * array (`[namespace, name, dim, value, …, {options}]`) or inside a SEARCH expression
 * (`SEARCH('{Namespace,dim1,dim2} MetricName="X" dim="v"', …)`), with the dimension set it asks for.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { eventLatency, recordRun, runMetrics } from '../../shared/metrics.js';
import type { Report } from '../../shared/reconcile/run.js';

export interface NamedMetric {
  widget: string;
  namespace: string;
  name: string;
  /** dimension names, sorted: a SEARCH schema's, or a metric array's */
  dimensions: string[];
  /** dimension values the widget fixes */
  values: Record<string, string>;
}

type Widget = { type: string; properties: { title: string; metrics?: unknown[][] } };

const SEARCH = /SEARCH\('\{([^}]*)\}([^']*)'/g;
const PAIR = /(\w+)="([^"]*)"/g;

function fromSearch(widget: string, expression: string): NamedMetric[] {
  return [...expression.matchAll(SEARCH)].map(([, schema = '', terms = '']) => {
    const [namespace = '', ...dimensions] = schema.split(',').map((s) => s.trim());
    const values = Object.fromEntries([...terms.matchAll(PAIR)].map(([, k = '', v = '']) => [k, v]));
    const { MetricName: name = '', ...rest } = values;
    return { widget, namespace, name, dimensions: dimensions.sort(), values: rest };
  });
}

function fromArray(widget: string, entry: unknown[]): NamedMetric {
  const plain = entry.filter((e) => typeof e === 'string');
  const [namespace = '', name = '', ...pairs] = plain;
  const values: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) values[pairs[i] as string] = pairs[i + 1] as string;
  return { widget, namespace, name, dimensions: Object.keys(values).sort(), values };
}

/** Every metric of every widget of a dashboard body (JSON, `${AWS::Region}` already substituted). */
export function dashboardMetrics(body: string): NamedMetric[] {
  const { widgets } = JSON.parse(body) as { widgets: Widget[] };
  return widgets.flatMap((w) =>
    (w.properties.metrics ?? []).flatMap((entry) => {
      const expression = (entry.find((e) => typeof e === 'object' && e !== null) as { expression?: string } | undefined)
        ?.expression;
      if (expression !== undefined) return fromSearch(w.properties.title, expression);
      return [fromArray(w.properties.title, entry)];
    }),
  );
}

/**
 * What the code emits for a report (the metric names and the one dimension set of its embedded-metric blob), by
 * running the real `recordRun` on it.
 */
export function emitted(report: Report, event?: unknown): { namespace: string; names: string[]; dimensions: string[] } {
  const m = new Metrics({ namespace: 'MackerelReconciler', serviceName: 'mackerel-reconciler' });
  recordRun(m, report, event);
  const blob = m.serializeMetrics() as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
  const cw = blob._aws.CloudWatchMetrics[0];
  if (cw === undefined) throw new Error('recordRun emitted nothing');
  return { namespace: cw.Namespace, names: cw.Metrics.map((x) => x.Name), dimensions: [...(cw.Dimensions[0] ?? [])].sort() };
}

export { eventLatency, runMetrics };
