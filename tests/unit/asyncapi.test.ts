import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { affiliationChecked } from '../../src/affiliation/events.js';
import {
  citizenRegistered,
  citizenUnregistered,
  registerCitizenCompleted,
  registerCitizenRequested,
  unregisterCitizenCompleted,
  unregisterCitizenRequested,
} from '../../src/citizens/events.js';
import {
  authenticationCompleted,
  authenticationRequested,
  documentAuthenticated,
} from '../../src/documents/events.js';
import type { EventType } from '../../src/messaging/events.js';
import { CE_SOURCE } from '../../src/messaging/relay.js';
import {
  transferCitizenReceived,
  transferCompleted,
  transferDocumentsStored,
  transferFailed,
  userTransferred,
} from '../../src/transfers/events.js';
import { projectRoot } from '../../tools/shared/paths.js';

type Schema = {
  type?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  additionalProperties?: unknown;
};

const doc = parse(readFileSync(join(projectRoot, 'docs/asyncapi.yaml'), 'utf8'));

/** What a reader relies on: property names, which are required, their types, enums, consts. */
function shape(s: Schema): unknown {
  return {
    required: [...(s.required ?? [])].sort(),
    additionalProperties: s.additionalProperties ?? true,
    properties: Object.fromEntries(
      Object.entries(s.properties ?? {}).map(([k, p]) => [
        k,
        {
          type: p.type ?? p.anyOf?.map((a) => a.type),
          enum: p.enum,
          const: p.const,
        },
      ]),
    ),
  };
}

describe('docs/asyncapi.yaml matches the code', () => {
  /** Every event the code publishes (output) or consumes (input), by its AsyncAPI name. */
  const cases: [string, EventType, 'output' | 'input'][] = [
    ['affiliationChecked', affiliationChecked, 'output'],
    ['documentAuthenticated', documentAuthenticated, 'output'],
    ['authenticationCompleted', authenticationCompleted, 'output'],
    ['authenticationRequested', authenticationRequested, 'input'],
    ['citizenRegistered', citizenRegistered, 'output'],
    ['citizenUnregistered', citizenUnregistered, 'output'],
    ['registerCitizenRequested', registerCitizenRequested, 'input'],
    ['registerCitizenCompleted', registerCitizenCompleted, 'output'],
    ['unregisterCitizenRequested', unregisterCitizenRequested, 'input'],
    ['unregisterCitizenCompleted', unregisterCitizenCompleted, 'output'],
    ['userTransferred', userTransferred, 'output'],
    ['transferCompleted', transferCompleted, 'output'],
    ['transferFailed', transferFailed, 'output'],
    ['transferCitizenReceived', transferCitizenReceived, 'output'],
    ['transferDocumentsStored', transferDocumentsStored, 'input'],
  ];

  for (const [name, { routingKey: key, schema }, io] of cases) {
    it(`${key}: channel address and payload equal the zod schema`, () => {
      expect(doc.asyncapi).toBe('3.0.0');
      expect(doc.channels[name].address).toBe(key);
      const message = doc.components.messages[name];
      expect(message.name).toBe(key);
      const ref = String(message.payload.$ref).split('/').at(-1) as string;
      const documented = doc.components.schemas[ref] as Schema;
      const actual = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Schema;
      expect(shape(documented)).toEqual(shape(actual));
    });
  }

  it('documents every routing key the code knows, on the default exchange, with the CloudEvents headers', () => {
    const addresses = Object.values(doc.channels).map((c) => (c as { address: string }).address);
    expect(addresses.sort()).toEqual(cases.map(([, event]) => event.routingKey).sort());
    expect(doc.channels.affiliationChecked.bindings.amqp.exchange.name).toBe('citizen_affiliation');
    const headers = doc.components.schemas.CloudEventsHeaders;
    expect(headers.properties['ce-source'].const).toBe(CE_SOURCE);
    expect(headers.required.sort()).toEqual([
      'ce-id',
      'ce-source',
      'ce-specversion',
      'ce-time',
      'ce-type',
    ]);
  });
});
