// Shared by the k6 scripts (k6 runs JavaScript, not Node: no npm packages here).
import { check, fail } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';

export const BASE_URL = (__ENV.BASE_URL || 'http://localhost:8000').replace(/\/$/, '');
const USERNAME = __ENV.K6_USERNAME || 'loadtest';
const PASSWORD = __ENV.K6_PASSWORD;
/** Share of iterations that authenticate a document; the rest check affiliations. */
const AUTH_SHARE = Number(__ENV.AUTH_SHARE || '0.2');
/** Citizen ids are drawn from this many, so the service's answer cache sees realistic reuse. */
const POPULATION = Number(__ENV.CITIZEN_POPULATION || '200000');

/** Thresholds every scenario shares; a failed threshold makes k6 exit non-zero. */
export const thresholds = {
  http_req_failed: ['rate<0.01'],
  'http_req_duration{kind:check}': ['p(95)<800', 'p(99)<2000'],
  'http_req_duration{kind:authenticate}': ['p(95)<1500', 'p(99)<3000'],
  checks: ['rate>0.99'],
};

const json = { 'content-type': 'application/json' };
let token = null; // one login per VU, reused until it expires (a 401 logs in again)

function login() {
  if (!PASSWORD)
    fail('set K6_PASSWORD (and K6_USERNAME) to a user with the service or operator role');
  const res = http.post(
    `${BASE_URL}/api/v1/auth/login`,
    JSON.stringify({ username: USERNAME, password: PASSWORD }),
    {
      headers: json,
      tags: { kind: 'login' },
    },
  );
  if (!check(res, { 'login 200': (r) => r.status === 200 }))
    fail(`login failed: ${res.status} ${res.body}`);
  token = res.json('access_token');
}

/** A realistic Colombian cédula: 8 to 10 digits, drawn from a fixed population. */
export function citizenId() {
  const n = Math.floor(Math.random() * POPULATION);
  return String(1_000_000_000 + n * 7919);
}

function post(path, body, kind) {
  if (!token) login();
  const params = () => ({ headers: { ...json, authorization: `Bearer ${token}` }, tags: { kind } });
  let res = http.post(`${BASE_URL}${path}`, JSON.stringify(body), params());
  if (res.status === 401) {
    login();
    res = http.post(`${BASE_URL}${path}`, JSON.stringify(body), params());
  }
  return res;
}

/** One user action: mostly affiliation checks, some document authentications. */
export function mixedIteration() {
  const id = citizenId();
  if (Math.random() < AUTH_SHARE) {
    const res = post(
      '/api/v1/documents/authenticate',
      {
        citizen_id: id,
        document_url: `https://files.example.org/${id}/${exec.scenario.iterationInTest}.pdf`,
        document_title: 'Diploma',
        document_id: `doc-${exec.vu.idInTest}-${exec.scenario.iterationInTest}`,
      },
      'authenticate',
    );
    check(res, { 'authenticate answered': (r) => r.status === 200 || r.status === 503 });
  } else {
    const res = post('/api/v1/affiliation/check', { citizen_id: id }, 'check');
    check(res, {
      'check answered': (r) => r.status === 200 || r.status === 503,
      'check has a status': (r) =>
        r.status !== 200 || ['ELIGIBLE', 'ALREADY_AFFILIATED'].includes(r.json('status')),
    });
  }
}
