import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import type { Counter } from 'prom-client';
import type { Db } from '../../db/client.js';
import {
  type AFFILIATION_TYPES,
  type AffiliationCheck,
  affiliationChecks,
  type DOCUMENT_TYPES,
} from '../../db/schema.js';
import { upstreamUnavailable } from '../errors.js';
import type { Outbox } from '../events/outbox.js';
import { ROUTING_KEYS } from '../events/schemas.js';
import { HubError } from '../hub/client.js';
import type { HubGateway } from '../hub/gateway.js';
import type { SaveAnswer } from '../idempotency.js';

export interface CheckInput {
  citizenId: string;
  documentType: (typeof DOCUMENT_TYPES)[number];
  affiliationType?: (typeof AFFILIATION_TYPES)[number] | undefined;
}

export interface Caller {
  /** The token's subject. */
  requestedBy: string;
  requestId: string;
}

export interface CheckView {
  check_id: string;
  citizen_id: string;
  document_type: AffiliationCheck['documentType'];
  affiliation_type: AffiliationCheck['affiliationType'];
  eligible: boolean | null;
  status: AffiliationCheck['status'];
  reason: string;
  checked_at: string;
  source: AffiliationCheck['source'];
}

export interface Cursor {
  checkedAt: Date;
  id: string;
}

export const NOT_REGISTERED = 'The citizen is not registered with any operator';
export const REGISTERED = 'The citizen is already registered with an operator';

export function hubFailureReason(err: HubError): string {
  const what: Record<HubError['failure'], string> = {
    timeout: 'did not answer in time',
    connection: 'could not be reached',
    status: `answered ${err.status ?? 'an error'}`,
    breaker_open: 'is failing; calls are paused (circuit open)',
    overloaded: 'has too many calls in flight',
  };
  return `GovCarpeta ${what[err.failure]}`;
}

export function checkView(row: AffiliationCheck): CheckView {
  return {
    check_id: row.id,
    citizen_id: row.citizenId,
    document_type: row.documentType,
    affiliation_type: row.affiliationType,
    eligible: row.eligible,
    status: row.status,
    reason: row.reason,
    checked_at: row.checkedAt.toISOString(),
    source: row.source,
  };
}

export const encodeCursor = (c: Cursor) =>
  Buffer.from(JSON.stringify([c.checkedAt.toISOString(), c.id])).toString('base64url');

/** Returns undefined for anything that is not a cursor this service made. */
export function decodeCursor(text: string): Cursor | undefined {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, 'base64url').toString()) as unknown[];
    const checkedAt = new Date(String(at));
    if (Number.isNaN(checkedAt.getTime()) || typeof id !== 'string') return undefined;
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    return { checkedAt, id };
  } catch {
    return undefined;
  }
}

/**
 * Affiliation checks: ask the hub (or reuse a recent answer), then write the audit row and its
 * `affiliation.checked` event in one transaction. A hub failure is audited as ERROR and answered
 * 503: it never becomes a decision and never an event.
 */
export class AffiliationService {
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly hub: HubGateway,
    private readonly checks: Counter<'status' | 'source'>,
  ) {}

  async check(input: CheckInput, caller: Caller, save?: SaveAnswer): Promise<CheckView> {
    const base = {
      citizenId: input.citizenId,
      documentType: input.documentType,
      affiliationType: input.affiliationType ?? null,
      requestedBy: caller.requestedBy,
      requestId: caller.requestId,
    };
    let lookup: Awaited<ReturnType<HubGateway['checkCitizen']>>;
    try {
      lookup = await this.hub.checkCitizen(input.citizenId);
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      const reason = hubFailureReason(err);
      await this.db.insert(affiliationChecks).values({
        ...base,
        status: 'ERROR',
        eligible: null,
        reason,
        source: 'hub',
        checkedAt: new Date(),
      });
      this.checks.inc({ status: 'ERROR', source: 'hub' });
      throw upstreamUnavailable(
        `${reason}; no decision was made, retry later`,
        err.retryAfterSeconds,
        err,
      );
    }

    const eligible = !lookup.registered;
    const row: AffiliationCheck = {
      ...base,
      id: crypto.randomUUID(),
      status: eligible ? 'ELIGIBLE' : 'ALREADY_AFFILIATED',
      eligible,
      reason: eligible ? NOT_REGISTERED : lookup.message || REGISTERED,
      source: lookup.source,
      checkedAt: new Date(),
    };
    const view = checkView(row);
    const event = {
      event_type: ROUTING_KEYS.affiliationChecked,
      check_id: row.id,
      citizen_id: row.citizenId,
      eligible,
      status: eligible ? ('ELIGIBLE' as const) : ('ALREADY_AFFILIATED' as const),
      timestamp: view.checked_at,
    };
    await this.outbox.record(
      affiliationChecks,
      row,
      ROUTING_KEYS.affiliationChecked,
      event,
      save && ((tx) => save(tx, { statusCode: 200, body: view })),
    );
    this.checks.inc({ status: row.status, source: row.source });
    return view;
  }

  /** The audit history, newest first, keyset-paginated. */
  async history(query: {
    citizenId?: string | undefined;
    limit: number;
    cursor?: Cursor | undefined;
  }): Promise<{ items: CheckView[]; next_cursor: string | null }> {
    const t = affiliationChecks;
    const where: SQL[] = [];
    if (query.citizenId) where.push(eq(t.citizenId, query.citizenId));
    if (query.cursor) {
      const { checkedAt, id } = query.cursor;
      where.push(
        or(lt(t.checkedAt, checkedAt), and(eq(t.checkedAt, checkedAt), lt(t.id, id))) as SQL,
      );
    }
    const rows = await this.db
      .select()
      .from(t)
      .where(and(...where))
      .orderBy(desc(t.checkedAt), desc(t.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(checkView),
      next_cursor:
        rows.length > query.limit && last
          ? encodeCursor({ checkedAt: last.checkedAt, id: last.id })
          : null,
    };
  }
}
