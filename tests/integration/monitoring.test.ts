import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { App } from '../../src/app/api.js';
import { buildWorker, type Worker } from '../../src/app/worker.js';
import { amqpUrl, TestBroker, testExchange, withBroker } from '../helpers/amqp.js';
import { bearer, buildTestApp, createUser, login, testConfig } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { read } from '../helpers/deploy.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { metricNames } from '../helpers/promql.js';

/** Prometheus' own series: not ours to export. */
const PROMETHEUS_SERIES = new Set(['up']);

withBroker('monitoring: every metric the alerts and the dashboard use is exported', () => {
  let hub: Awaited<ReturnType<typeof startHub>>;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let broker: TestBroker;
  let app: App;
  let worker: Worker;
  const exchange = testExchange();

  beforeAll(async () => {
    hub = await startHub();
    db = await freshDatabase();
    broker = await TestBroker.open();
    broker.track(exchange, [100]);
    const env = {
      DATABASE_URL: db.url,
      AMQP_URL: amqpUrl ?? '',
      AMQP_EXCHANGE: exchange,
      GOVCARPETA_URL: hub.url,
    };
    app = await buildTestApp(env);
    worker = await buildWorker(testConfig(env), { tuning: { worker: { retryDelaysMs: [100] } } });
    await app.ready();
    await worker.ready();
    await worker.broker?.channel.waitForConnect();
  });
  afterAll(async () => {
    await app?.close();
    await worker?.close();
    await broker?.close();
    await hub?.close();
    await db?.drop();
  });

  it('after a short exercise of the API', async () => {
    const user = await createUser(app, ['operator']);
    const { access_token } = await login(app, user);
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: user.username, password: 'wrong' },
    });
    const id = citizenId('eligible');
    for (let i = 0; i < 2; i++) {
      await app.inject({
        method: 'POST',
        url: '/api/v1/affiliation/check',
        headers: bearer(access_token),
        payload: { citizen_id: id },
      });
    }
    await app.inject({
      method: 'POST',
      url: '/api/v1/documents/authenticate',
      headers: bearer(access_token),
      payload: { citizen_id: id, document_url: 'https://x.example/a.pdf', document_title: 'A' },
    });

    const exported = new Set<string>();
    for (const target of [app, worker]) {
      const text = (await target.inject('/metrics')).body;
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        exported.add(name as string);
        if (type === 'histogram')
          for (const s of ['_bucket', '_sum', '_count']) exported.add(`${name}${s}`);
      }
    }
    const alerts = parse(read('monitoring/alerts.yml'));
    const alertExprs: string[] = alerts.groups.flatMap((g: any) => g.rules.map((r: any) => r.expr));
    const dashboard = JSON.parse(read('monitoring/grafana/dashboards/citizen-affiliation.json'));
    const panelExprs: string[] = dashboard.panels.flatMap((p: any) =>
      p.targets.map((t: any) => t.expr),
    );
    expect(alertExprs.length).toBeGreaterThanOrEqual(7);
    const used = new Set([...alertExprs, ...panelExprs].flatMap(metricNames));
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter((m) => !exported.has(m) && !PROMETHEUS_SERIES.has(m));
    expect(missing).toEqual([]);
    // labels the rules rely on
    const text = (await app.inject('/metrics')).body;
    expect(text).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/affiliation\/check"[^}]*status_code="200"/,
    );
    expect((await worker.inject('/metrics')).body).toMatch(
      /amqp_queue_messages\{queue="[^"]+\.dead-letter"\} 0/,
    );
  });

  it('the metric-name reader finds what a rule reads, and refuses what is not PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{route=~"/api/.*"}[5m]))) > 1.5',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(
      metricNames('max by (job) (nodejs_eventloop_lag_p99_seconds) / clamp_min(x_total, 1e-9)'),
    ).toEqual(['nodejs_eventloop_lag_p99_seconds', 'x_total']);
  });
});
