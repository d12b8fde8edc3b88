import { expect } from 'vitest';

interface Response {
  statusCode: number;
  headers: Record<string, unknown>;
  json: () => any;
}

/**
 * Asserts an RFC 9457 problem answer as the errors plugin writes it (and, when given, its status
 * and code). Returns the body.
 */
export function expectProblem(res: Response, status?: number, code?: string) {
  if (status !== undefined) expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({
    type: expect.stringMatching(/^urn:/),
    status: res.statusCode,
    code: code ?? expect.stringMatching(/^[A-Z_]+$/),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(body.request_id).toBeTruthy();
  expect(body.request_id).toBe(res.headers['x-request-id']);
  return body;
}
