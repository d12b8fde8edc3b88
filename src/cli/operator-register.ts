import pino from 'pino';
import { Registry } from 'prom-client';
import { DataDirBusyError } from '../../db/lock.js';
import { ConfigError, envSchema, operatorIdentity, parseEnv } from '../config/env.js';
import { TUNING } from '../config/tuning.js';
import { gatewayLimits } from '../hub/gateway.js';
import { createHub } from '../hub/hub.js';
import { directoryMetrics, OperatorDirectory } from '../operators/directory.service.js';
import {
  type Application,
  OperatorRegistration,
  type RegistrationReport,
} from '../operators/registration.service.js';
import { runCommand } from './command.js';
import { databaseEnv, openDatabase } from './database.js';
import { runningService } from './service.js';

const USAGE = `usage: npm run operator:register -- [--check]
       npm run operator:register -- --address TEXT --contact-mail MAIL [--participant NAME ...]

  Registers this operator (OPERATOR_NAME) at GovCarpeta if its directory does not list it yet,
  and its transfer endpoints (PUBLIC_BASE_URL/api/transferCitizen and …Confirm). Never registers
  the operator twice (the directory has no delete): with OPERATOR_ID set it must be listed;
  unset, no operator of that name may be. Prints the id to set as OPERATOR_ID. A second run
  changes nothing and says so.
  --check   only print what the directory says about this operator.
  With the built-in simulator (GOVCARPETA_URL unset), the hub lives in the running service:
  start it (npm start) first; the command goes through it.`;

type RegistrationBody = { address: string; contact_mail: string; participants: string[] };

/** `npm run operator:register`: this operator's own registration at the hub. */
await runCommand(
  USAGE,
  {
    check: { type: 'boolean', default: false },
    address: { type: 'string' },
    'contact-mail': { type: 'string' },
    participant: { type: 'string', multiple: true },
  },
  async (values) => {
    const application =
      values.address && values['contact-mail']
        ? {
            address: values.address,
            contactMail: values['contact-mail'],
            participants: values.participant ?? [],
          }
        : undefined;
    if ((values.address || values['contact-mail']) && !application) {
      console.error('--address and --contact-mail go together');
      console.error(USAGE);
      return 2;
    }
    const report = await run(values.check, application);
    print(report);
    return 0;
  },
);

async function run(check: boolean, application: Application | undefined) {
  const env = parseEnv(
    envSchema.pick({
      NODE_ENV: true,
      PORT: true,
      GOVCARPETA_URL: true,
      GOVCARPETA_API_KEY: true,
      HUB_TIMEOUT_MS: true,
      HUB_MAX_CONCURRENT: true,
      OPERATOR_ID: true,
      OPERATOR_NAME: true,
      PUBLIC_BASE_URL: true,
    }),
    process.env,
  );
  const { DATA_DIR } = databaseEnv(process.env);
  if (env.NODE_ENV === 'production' && !env.GOVCARPETA_URL) {
    throw new ConfigError(['GOVCARPETA_URL: required in production']);
  }
  let database: Awaited<ReturnType<typeof openDatabase>>;
  try {
    database = await openDatabase();
  } catch (err) {
    if (!(err instanceof DataDirBusyError)) throw err;
    const service = runningService(DATA_DIR, err.holder?.pid);
    if (!service) throw err;
    return throughService(service, check, application);
  }
  try {
    if (!env.GOVCARPETA_URL) {
      throw new Error(
        'With the built-in simulator (GOVCARPETA_URL unset) the hub lives in the running service: start it (npm start) and run this again.',
      );
    }
    const hub = await createHub(
      {
        baseUrl: env.GOVCARPETA_URL,
        client: {
          apiKey: env.GOVCARPETA_API_KEY,
          timeoutMs: env.HUB_TIMEOUT_MS,
          retries: TUNING.hub.retries,
          retryBaseMs: TUNING.hub.retryBaseMs,
          connections: 2,
        },
        breaker: gatewayLimits(TUNING.hub, env.HUB_MAX_CONCURRENT),
        cache: null,
        cacheTtlMs: 0,
        cacheKey: (id) => id,
      },
      { registry: new Registry(), log: pino({ level: 'silent' }) },
    );
    try {
      const directory = new OperatorDirectory(hub.gateway, 0, directoryMetrics(new Registry()));
      const identity = operatorIdentity(env, env.PORT ?? 8000);
      const registration = new OperatorRegistration(database.db, hub.gateway, directory, identity);
      return check
        ? await registration.check()
        : await registration.register(application, 'operator:register');
    } finally {
      await hub.close();
    }
  } finally {
    await database.close();
  }
}

async function throughService(
  service: NonNullable<ReturnType<typeof runningService>>,
  check: boolean,
  application: Application | undefined,
): Promise<RegistrationReport & { via?: string }> {
  type Answer = {
    name: string;
    operator_id: string | null;
    listed: boolean;
    transfer_url: string | null;
    expected_transfer_url: string | null;
    registered_now: boolean;
    endpoints_registered_now: boolean;
    changed: boolean;
    notes: string[];
  };
  const body: RegistrationBody | undefined = application && {
    address: application.address,
    contact_mail: application.contactMail,
    participants: application.participants,
  };
  const a = check
    ? await service.call<Answer>('GET', '/operator/registration')
    : await service.call<Answer>('POST', '/operator/registration', body);
  return {
    name: a.name,
    operatorId: a.operator_id,
    listed: a.listed,
    transferUrl: a.transfer_url,
    expectedTransferUrl: a.expected_transfer_url,
    registeredNow: a.registered_now,
    endpointsRegisteredNow: a.endpoints_registered_now,
    changed: a.changed,
    notes: a.notes,
    via: `the running service (pid ${service.pid})`,
  };
}

function print(r: RegistrationReport & { via?: string }): void {
  const lines = [
    `operator "${r.name}"${r.operatorId ? ` (${r.operatorId})` : ''}: ${
      r.registeredNow
        ? 'registered now'
        : r.listed
          ? 'in the hub directory'
          : 'not in the hub directory'
    }`,
    `transfer endpoint: ${r.transferUrl ?? 'none'}${
      r.endpointsRegisteredNow
        ? ' (registered now)'
        : r.expectedTransferUrl && r.transferUrl !== r.expectedTransferUrl
          ? ` (expected ${r.expectedTransferUrl})`
          : ''
    }`,
    ...r.notes,
    ...(r.via ? [`(through ${r.via})`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
