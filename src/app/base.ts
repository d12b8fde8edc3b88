import Fastify, { type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { DataDirBusyError } from '../../db/lock.js';
import { ConfigError } from '../config/env.js';
import type { Settings } from '../config/settings.js';
import type { TuningOverrides } from '../config/tuning.js';
import { loggerOptions } from './logger.js';

export interface BuildOptions {
  /** A ready-made logger (tests capture output through it); else one is made from config. */
  loggerInstance?: FastifyBaseLogger;
  /** Tests only: other values for the named constants of src/config/tuning.ts. */
  tuning?: TuningOverrides;
}

/**
 * How an entry point ends when it cannot start: a problem the operator fixes (the configuration,
 * a data folder another process holds) by its message alone, anything else with its stack.
 */
export function exitOnStartFailure(what: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof ConfigError || err instanceof DataDirBusyError) console.error(err.message);
    else console.error(`${what} failed to start:`, err);
    process.exit(1);
  };
}

/**
 * A Fastify instance as both processes start: the logger, and zod validation and serialisation
 * (the type provider is set here, once, for every plugin and route below).
 */
export function createFastify(
  { config }: Settings,
  options: BuildOptions,
  server: Omit<FastifyServerOptions, 'logger' | 'loggerInstance'>,
) {
  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: loggerOptions(config) }),
    ...server,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  return app;
}
