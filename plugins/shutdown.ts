import fp from 'fastify-plugin';

/**
 * Graceful close: a keep-alive connection that was busy when close began would stay open after
 * its response (Node closes only the connections idle at that moment), holding the process up
 * to the grace limit. Once closing, every response asks the client to close its connection.
 */
export default fp(
  async (app) => {
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onSend', async (_request, reply) => {
      if (closing) reply.header('connection', 'close');
    });
  },
  { name: 'shutdown' },
);
