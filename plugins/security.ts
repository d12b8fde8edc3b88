import cors from '@fastify/cors';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import type { Settings } from '../src/config/settings.js';

const HELMET: HelmetOptions = {
  // Swagger UI at /docs loads its own script and styles from this origin only.
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      // TLS ends at the ingress; upgrading would break /docs served over plain HTTP.
      upgradeInsecureRequests: null,
    },
  },
};

/**
 * The headers helmet sets with these options. They are the same for every response, so they are
 * computed once: @fastify/helmet rebuilt helmet's middleware (parsing the CSP) on every request,
 * which showed in the profiles.
 */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
    removeHeader: () => {},
  };
  helmet(options)({} as never, response as never, () => {});
  return headers;
}

/** Security headers (helmet's) and the CORS allow-list. */
export default fp<Settings>(
  async (app, { config }) => {
    const headers = helmetHeaders(HELMET);
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
    await app.register(cors, {
      origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false,
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
      exposedHeaders: ['Retry-After', 'X-Request-Id'],
      maxAge: 600,
    });
  },
  { name: 'security' },
);
