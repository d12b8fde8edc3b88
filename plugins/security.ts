import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import fp from 'fastify-plugin';
import type { Config } from '../src/config.js';

/** Security headers and the CORS allow-list. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    await app.register(helmet, {
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
