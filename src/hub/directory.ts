import { HubError } from './client.js';

/** One operator of the hub's directory, normalised. Operators are told apart by id, never name. */
export interface DirectoryEntry {
  operatorId: string;
  name: string;
  /** Where the operator receives transferred citizens; null when it publishes none. */
  transferUrl: string | null;
}

export interface Directory {
  operators: DirectoryEntry[];
  /** Entries that could not be read (no id, no name, a repeated id), left out. */
  skipped: number;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const pick = (o: Record<string, unknown>, keys: string[]): unknown =>
  keys.map((k) => o[k]).find((v) => v !== undefined && v !== null);

function text(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const trimmed = String(value).trim().replace(/\s+/g, ' ');
  return trimmed === '' ? undefined : trimmed;
}

function httpUrl(value: unknown): string | null {
  const candidate = text(value);
  if (!candidate) return null;
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null;
  } catch {
    return null;
  }
}

/**
 * The directory as getOperators sends it, read tolerantly: real entries are `{_id, operatorName,
 * transferAPIURL?}`, the published example says `OperatorId` / `OperatorName`; names carry stray
 * spaces and repeat; most operators publish no transfer URL, and URLs may start with spaces.
 * An entry with no usable id or name, or with an id seen before, is skipped and counted; only an
 * answer that is not a list at all is a failure.
 */
export function parseDirectory(raw: unknown): Directory {
  const list = Array.isArray(raw)
    ? raw
    : raw && typeof raw === 'object'
      ? pick(raw as Record<string, unknown>, ['operators', 'data'])
      : undefined;
  if (!Array.isArray(list)) {
    throw new HubError('getOperators', 'status', 200, new Error('the directory is not a list'));
  }
  const seen = new Set<string>();
  const operators: DirectoryEntry[] = [];
  let skipped = 0;
  for (const item of list) {
    const o = item && typeof item === 'object' ? (item as Record<string, unknown>) : {};
    const operatorId = text(pick(o, ['_id', 'OperatorId', 'operatorId', 'id']));
    const name = text(pick(o, ['operatorName', 'OperatorName', 'name', 'nameOperator']));
    if (!operatorId || !ID.test(operatorId) || !name || seen.has(operatorId)) {
      skipped++;
      continue;
    }
    seen.add(operatorId);
    const transferUrl = httpUrl(
      pick(o, ['transferAPIURL', 'transferApiUrl', 'TransferAPIURL', 'transferURL']),
    );
    operators.push({ operatorId, name, transferUrl });
  }
  return { operators, skipped };
}
