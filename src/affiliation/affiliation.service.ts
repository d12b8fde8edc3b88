import type { Db } from '../../db/client.js';
import { decideWithHub } from '../hub/failures.js';
import type { HubGateway } from '../hub/gateway.js';
import { type SaveAnswer, storeAnswer } from '../idempotency/idempotency.service.js';
import type { Outbox } from '../messaging/outbox.js';
import type { Caller } from '../shared/caller.js';
import type { Cursor } from '../shared/cursor.js';
import { page } from '../shared/cursor.js';
import type { AffiliationType, DocumentType } from '../shared/enums.js';
import { findChecks, insertCheck } from './checks.repository.js';
import { type AffiliationCheck, affiliationChecks } from './checks.table.js';
import { affiliationChecked, checkedEvent } from './events.js';
import type { CheckCounter } from './metrics.js';

export interface CheckInput {
  citizenId: string;
  documentType: DocumentType;
  affiliationType?: AffiliationType | undefined;
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

export const NOT_REGISTERED = 'The citizen is not registered with any operator';
export const REGISTERED = 'The citizen is already registered with an operator';

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
    private readonly checks: CheckCounter,
  ) {}

  async check(input: CheckInput, caller: Caller, save?: SaveAnswer): Promise<CheckView> {
    const base = {
      id: crypto.randomUUID(),
      citizenId: input.citizenId,
      documentType: input.documentType,
      affiliationType: input.affiliationType ?? null,
      requestedBy: caller.requestedBy,
      requestId: caller.requestId,
    };
    const lookup = await decideWithHub(
      () => this.hub.checkCitizen(input.citizenId),
      async (reason) => {
        await insertCheck(this.db, {
          ...base,
          status: 'ERROR',
          eligible: null,
          reason,
          source: 'hub',
          checkedAt: new Date(),
        });
        this.checks.inc({ status: 'ERROR', source: 'hub' });
      },
      'no decision was made, retry later',
    );

    const eligible = !lookup.registered;
    const row: AffiliationCheck = {
      ...base,
      status: eligible ? 'ELIGIBLE' : 'ALREADY_AFFILIATED',
      eligible,
      reason: eligible ? NOT_REGISTERED : lookup.message || REGISTERED,
      source: lookup.source,
      checkedAt: new Date(),
    };
    const view = checkView(row);
    const store = storeAnswer(save, view);
    await this.outbox.record(affiliationChecks, row, affiliationChecked, checkedEvent(row), store);
    this.checks.inc({ status: row.status, source: row.source });
    return view;
  }

  /** The audit history, newest first, keyset-paginated. */
  async history(query: {
    citizenId?: string | undefined;
    limit: number;
    cursor?: Cursor | undefined;
  }): Promise<{ items: CheckView[]; next_cursor: string | null }> {
    const rows = await findChecks(this.db, { ...query, limit: query.limit + 1 });
    return page(rows, query.limit, (r) => r.checkedAt, checkView);
  }
}
