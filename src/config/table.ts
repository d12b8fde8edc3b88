import type { z } from 'zod';
import { envSchema, isPolicy } from './env.js';

interface Row {
  name: string;
  defaultValue: string;
  setBy: string;
  description: string;
}

function rowOf(name: string, schema: z.ZodType): Row {
  const description = schema.description ?? '';
  let defaultValue: unknown;
  let inner: z.ZodType = schema;
  let values: string[] | undefined;
  for (;;) {
    const def = inner._zod.def as unknown as {
      type: string;
      innerType?: z.ZodType;
      in?: z.ZodType;
      defaultValue?: unknown;
      entries?: Record<string, string>;
    };
    if (def.type === 'default') defaultValue = def.defaultValue;
    if (def.type === 'enum') values = Object.values(def.entries ?? {});
    const next = def.innerType ?? def.in;
    if (!next) break;
    inner = next;
  }
  const shown =
    defaultValue === undefined
      ? '(unset)'
      : Array.isArray(defaultValue)
        ? defaultValue.length === 0
          ? '(empty)'
          : defaultValue.join(',')
        : String(defaultValue);
  const allowed = values ? ` One of: ${values.join(', ')}.` : '';
  return {
    name,
    defaultValue: `\`${shown}\``,
    setBy: isPolicy(schema) ? 'policy' : 'deployment',
    description: `${description}${allowed}`,
  };
}

/** The README's configuration table, generated from the config schema (`npm run docs:config`). */
export function configTable(): string {
  const rows = Object.entries(envSchema.shape).map(([name, schema]) =>
    rowOf(name, schema as z.ZodType),
  );
  return [
    '| Variable | Default | Set by | Meaning |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.name}\` | ${r.defaultValue} | ${r.setBy} | ${r.description} |`),
  ].join('\n');
}
