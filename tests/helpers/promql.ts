import { parser } from '@prometheus-io/lezer-promql';

/**
 * The metric names a PromQL expression reads, from Prometheus' own grammar (lezer-promql, the
 * parser of Prometheus' UI). Throws when the expression does not parse. Grafana's
 * `$__rate_interval` is read as a 5 minute range.
 */
export function metricNames(expr: string): string[] {
  const text = expr.replaceAll('$__rate_interval', '5m');
  const names: string[] = [];
  let error: number | undefined;
  parser.parse(text).iterate({
    enter: (node) => {
      if (node.type.isError) error ??= node.from;
      if (node.type.name === 'Identifier' && node.node.parent?.type.name === 'VectorSelector') {
        names.push(text.slice(node.from, node.to));
      }
    },
  });
  if (error !== undefined) throw new Error(`PromQL does not parse at ${error}: ${expr}`);
  return names;
}
