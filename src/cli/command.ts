import { type ParseArgsConfig, parseArgs } from 'node:util';
import { withoutQueryParams } from '../app/logger.js';
import { causeChain } from '../shared/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; strict: true }>
>['values'];

/**
 * Parses the command line strictly (an unknown option fails with the usage), answers `--help`,
 * then runs a command whose result is the exit code.
 */
export async function runCommand<const O extends Options>(
  usage: string,
  options: O,
  main: (values: Values<O>) => Promise<number>,
): Promise<void> {
  await runCli(async () => {
    let values: Values<O> & { help?: boolean };
    try {
      const withHelp = { ...options, help: { type: 'boolean' } } as const;
      values = parseArgs({ options: withHelp, strict: true }).values as typeof values;
    } catch (err) {
      console.error(`${(err as Error).message}\n${usage}`);
      return 2;
    }
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    return main(values);
  });
}

/** An error as a person reads it: its message and its causes', with no query parameters. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e = withoutQueryParams(err), depth = 0; depth < 5; depth++) {
    if (!(e instanceof Error)) {
      if (e !== undefined) parts.push(String(e));
      break;
    }
    if (!parts.some((p) => p.includes(e instanceof Error ? e.message : ''))) parts.push(e.message);
    e = e.cause;
  }
  return parts.join(': ');
}

/** Postgres's undefined_table: the database was never migrated. */
const UNDEFINED_TABLE = '42P01';

/** Runs a command; a failure is printed (redacted like a log line) and exits 1. */
export async function runCli(main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (err) {
    const unmigrated = [...causeChain(err)].some((e) => e.code === UNDEFINED_TABLE);
    console.error(describeError(err));
    if (unmigrated) console.error('The database has no tables yet: run `npm run migrate` first.');
    process.exitCode = 1;
  }
}
