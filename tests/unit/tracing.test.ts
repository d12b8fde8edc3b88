import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import type { OutboxRow } from '../../src/messaging/outbox.table.js';
import { messageOptions } from '../../src/messaging/relay.js';
import { spanUrl, tracingConfigured } from '../../src/telemetry/start.js';
import { contextOf, currentTraceCarrier, dbSpan, inSpan } from '../../src/telemetry/tracing.js';

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

describe('tracing configuration (the standard OTEL_* variables)', () => {
  it('is off unless an OTLP endpoint is set, and when the SDK or its exporter is turned off', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured(ENDPOINT)).toBe(true);
    expect(
      tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }),
    ).toBe(true);
    expect(tracingConfigured({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingConfigured({ ...ENDPOINT, OTEL_SDK_DISABLED: 'TRUE ' })).toBe(false);
    expect(tracingConfigured({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingConfigured({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
  });
});

describe('URLs in spans', () => {
  it('mask citizen ids and drop the query string and credentials', () => {
    expect(spanUrl('/api/v1/citizens/1032236578?x=1')).toBe('/api/v1/citizens/:digits');
    expect(spanUrl('https://user:pw@hub.example:8443/apis/validateCitizen/123456?k=v')).toBe(
      'https://hub.example:8443/apis/validateCitizen/:digits',
    );
    expect(spanUrl('/api/v1/affiliation/checks?citizen_id=1032236578')).toBe(
      '/api/v1/affiliation/checks',
    );
  });
});

describe('tracing off (this process started no SDK)', () => {
  it('costs a flag test: no carrier, no context, no span', async () => {
    expect(currentTraceCarrier()).toBeNull();
    expect(
      trace.getSpan(contextOf({ traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` })),
    ).toBe(undefined);
    await expect(inSpan('x', {}, async (span) => span)).resolves.toBeUndefined();
    await expect(dbSpan('INSERT', 't', async () => 7)).resolves.toBe(7);
  });

  it('the relay still passes on the trace context an outbox row holds', () => {
    const row = {
      id: '8f6802d2-4304-4d47-ab43-7431aa6a70f6',
      routingKey: 'affiliation.checked',
      createdAt: new Date(),
      traceContext: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
    } as OutboxRow;
    expect(messageOptions(row, 1000).headers).toMatchObject(row.traceContext ?? {});
    expect(messageOptions({ ...row, traceContext: null }, 1000).headers).not.toHaveProperty(
      'traceparent',
    );
  });
});
