import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/** OpenAPI document generated from the routes' zod schemas; UI at /docs, JSON at /docs/json. */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'citizen-affiliation',
          description:
            'Connectivity service of a Carpeta Ciudadana operator: affiliation checks, document ' +
            'authentication, citizens, the operator directory and transfers between operators, ' +
            'through GovCarpeta. Errors are RFC 9457 problem details.',
          version: '0.1.0',
        },
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
        tags: [
          { name: 'auth', description: 'Login, token refresh and logout' },
          { name: 'operations', description: 'Health checks (no auth)' },
          { name: 'transfers', description: 'Citizens sent to and received from other operators' },
          { name: 'security', description: 'The tamper-evident security log (auditors, admins)' },
          {
            name: 'peers',
            description:
              'The public endpoints of the transfer protocol, for other operators (no auth)',
          },
        ],
      },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: false,
      uiConfig: { deepLinking: true, persistAuthorization: false },
    });
  },
  { name: 'swagger' },
);
