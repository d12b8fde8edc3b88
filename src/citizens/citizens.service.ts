import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { Db, Executor } from '../../db/client.js';
import { HubError } from '../hub/client.js';
import { hubFailureReason } from '../hub/failures.js';
import type { HubGateway, Settled } from '../hub/gateway.js';
import type { Outbox } from '../messaging/outbox.js';
import type { ActionOutcome, Channel, CitizenAction } from '../shared/enums.js';
import { AppError } from '../shared/errors.js';
import {
  beginAction,
  completeAction,
  findActions,
  hasPendingAction,
} from './citizen-actions.repository.js';
import type { CitizenActionRow } from './citizen-actions.table.js';
import { findCitizen, saveRegistered, saveUnregistered } from './citizens.repository.js';
import type { Citizen } from './citizens.table.js';
import { citizenRegistered, citizenUnregistered } from './events.js';

export interface CitizenInput {
  citizenId: string;
  name: string;
  address: string;
  email: string;
}

/** Who asked: a caller over HTTP, or a request message (its id makes a redelivery the same ask). */
export interface Requester {
  channel: Channel;
  requestedBy: string | null;
  requestId: string | null;
  messageId: string | null;
}

/** This operator at the hub. */
export interface Identity {
  id: string;
  name: string;
}

export interface ActionResult {
  action: CitizenActionRow;
  /** False for a redelivered message whose action was completed before: nothing was asked. */
  fresh: boolean;
  /** Set when the hub could not answer and the action stays PENDING (a later try settles it). */
  failure?: { reason: string; retryAfterSeconds: number };
}

export interface ActOptions {
  /**
   * The last try: a hub failure completes the action as ERROR (else it stays PENDING, for the
   * queue's next delivery). HTTP requests are always their last try.
   */
  final: boolean;
  /** Written in the transaction that completes the action (an answer event, an idempotent reply). */
  also?: (tx: Executor, action: CitizenActionRow) => Promise<void>;
}

export type ActionCounter = Counter<'action' | 'outcome' | 'channel'>;

export interface CitizenView {
  citizen_id: string;
  status: Citizen['status'] | null;
  operator_id: string | null;
  name: string | null;
  address: string | null;
  email: string | null;
  registered_at: string | null;
  unregistered_at: string | null;
  history: ActionView[];
}

export interface ActionView {
  action_id: string;
  action: CitizenAction;
  outcome: ActionOutcome;
  hub_status: number | null;
  settled_by: string | null;
  attempts: number;
  message: string;
  channel: Channel;
  requested_by: string | null;
  at: string;
  completed_at: string | null;
}

export function actionView(row: CitizenActionRow): ActionView {
  return {
    action_id: row.id,
    action: row.action,
    outcome: row.outcome,
    hub_status: row.hubStatus,
    settled_by: row.settledBy,
    attempts: row.attempts,
    message: row.message,
    channel: row.channel,
    requested_by: row.requestedBy,
    at: row.createdAt.toISOString(),
    completed_at: row.completedAt?.toISOString() ?? null,
  };
}

const HISTORY = 50;

/**
 * Registering citizens with this operator at the hub, and unregistering them. Every ask is an
 * action row, written PENDING before the hub is asked and completed with what it said; the record
 * of the citizen and the event announcing the change are written in the transaction that
 * completes it. A hub failure is never a decision: the action stays PENDING for a later try, or
 * (on the last one) ends as ERROR. An ask whose earlier try may have reached the hub (its process
 * died, or the answer was lost) is settled with validateCitizen before anything is sent again.
 */
export class CitizenService {
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly hub: HubGateway,
    private readonly identity: Identity | null,
    /** The settings that lack, when identity is null (named in the 503). */
    private readonly missing: string[],
    private readonly counter: ActionCounter,
  ) {}

  /** This operator, or 503 NOT_CONFIGURED naming what is missing. */
  operator(): Identity {
    if (this.identity) return this.identity;
    throw new AppError(
      'NOT_CONFIGURED',
      `Registering citizens needs ${this.missing.join(' and ')} (this operator at the hub); ` +
        'set them (npm run operator:register prints the id)',
    );
  }

  async register(input: CitizenInput, who: Requester, options: ActOptions): Promise<ActionResult> {
    const us = this.operator();
    return this.act(
      'REGISTER',
      input.citizenId,
      who,
      options,
      async (earlier) => {
        const settled = await this.hub.registerCitizen(
          { ...input, operatorId: us.id, operatorName: us.name },
          earlier,
        );
        return {
          settled,
          outcome: settled.answer.outcome === 'registered' ? 'REGISTERED' : 'ALREADY_REGISTERED',
        };
      },
      async (tx, action, at) => {
        if (action.outcome !== 'REGISTERED') return;
        await saveRegistered(tx, { ...input, operatorId: us.id }, at);
        await this.outbox.enqueue(tx, citizenRegistered, {
          event_type: citizenRegistered.routingKey,
          citizen_id: input.citizenId,
          operator_id: us.id,
          action_id: action.id,
          timestamp: at.toISOString(),
        });
      },
    );
  }

  async unregister(citizenId: string, who: Requester, options: ActOptions): Promise<ActionResult> {
    const us = this.operator();
    return this.act(
      'UNREGISTER',
      citizenId,
      who,
      options,
      async () => {
        const settled = await this.hub.unregisterCitizen({
          citizenId,
          operatorId: us.id,
          operatorName: us.name,
        });
        return { settled, outcome: 'UNREGISTERED' };
      },
      async (tx, action, at) => {
        await saveUnregistered(tx, citizenId, at);
        await this.outbox.enqueue(tx, citizenUnregistered, {
          event_type: citizenUnregistered.routingKey,
          citizen_id: citizenId,
          operator_id: us.id,
          action_id: action.id,
          timestamp: at.toISOString(),
        });
      },
    );
  }

  /**
   * Records, without asking the hub, an ask that is refused (another operator's request): its
   * action and whatever `options.also` writes, in one transaction.
   */
  async refuse(
    action: CitizenAction,
    citizenId: string,
    who: Requester,
    reason: string,
    options: ActOptions,
  ): Promise<ActionResult> {
    const begun = await beginAction(this.db, this.newAction(action, citizenId, who));
    if (!begun.first && begun.row.outcome !== 'PENDING') return { action: begun.row, fresh: false };
    const done = await this.db.transaction(async (tx) => {
      const row = await completeAction(
        tx,
        begun.row.id,
        { outcome: 'REFUSED', hubStatus: null, settledBy: null, attempts: 0, message: reason },
        new Date(),
      );
      await options.also?.(tx, row);
      return row;
    });
    this.outbox.committed();
    this.count(done);
    return { action: done, fresh: true };
  }

  /** This operator's record of a citizen and its history (newest first), or undefined. */
  async find(citizenId: string): Promise<CitizenView | undefined> {
    const [record, actions] = await Promise.all([
      findCitizen(this.db, citizenId),
      findActions(this.db, citizenId, HISTORY),
    ]);
    if (!record && actions.length === 0) return undefined;
    return {
      citizen_id: citizenId,
      status: record?.status ?? null,
      operator_id: record?.operatorId ?? null,
      name: record?.name ?? null,
      address: record?.address ?? null,
      email: record?.email ?? null,
      registered_at: record?.registeredAt.toISOString() ?? null,
      unregistered_at: record?.unregisteredAt?.toISOString() ?? null,
      history: actions.map(actionView),
    };
  }

  private newAction(action: CitizenAction, citizenId: string, who: Requester) {
    return { id: randomUUID(), citizenId, action, ...who };
  }

  /**
   * One ask of the hub, as an action: begun PENDING (or found, for a redelivered message), the
   * hub asked (told when an earlier try may have landed), then completed with `apply`'s writes.
   */
  private async act(
    kind: CitizenAction,
    citizenId: string,
    who: Requester,
    options: ActOptions,
    ask: (earlierTry: boolean) => Promise<{ settled: Settled<unknown>; outcome: ActionOutcome }>,
    apply: (tx: Executor, action: CitizenActionRow, at: Date) => Promise<void>,
  ): Promise<ActionResult> {
    const begun = await beginAction(this.db, this.newAction(kind, citizenId, who));
    if (!begun.first && begun.row.outcome !== 'PENDING') return { action: begun.row, fresh: false };
    const earlierTry =
      !begun.first || (await hasPendingAction(this.db, citizenId, kind, begun.row.id));
    let answer: { settled: Settled<unknown>; outcome: ActionOutcome };
    try {
      answer = await ask(earlierTry);
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      return this.failed(begun.row, err, options);
    }
    const { settled, outcome } = answer;
    const hubAnswer = settled.answer as { status: number; message: string };
    const at = new Date();
    const done = await this.db.transaction(async (tx) => {
      const row = await completeAction(
        tx,
        begun.row.id,
        {
          outcome,
          hubStatus: hubAnswer.status || null,
          settledBy: settled.settledBy,
          attempts: begun.row.attempts + settled.attempts,
          message: describe(outcome, hubAnswer, settled),
        },
        at,
      );
      await apply(tx, row, at);
      await options.also?.(tx, row);
      return row;
    });
    this.outbox.committed();
    this.count(done);
    return { action: done, fresh: true };
  }

  /** The hub could not say: ERROR on the last try, else PENDING with the reason, for the next. */
  private async failed(
    row: CitizenActionRow,
    err: HubError,
    options: ActOptions,
  ): Promise<ActionResult> {
    const reason = hubFailureReason(err);
    const sent = err.failure === 'breaker_open' || err.failure === 'overloaded' ? 0 : 1;
    const update = {
      outcome: options.final ? ('ERROR' as const) : ('PENDING' as const),
      hubStatus: err.status ?? null,
      settledBy: null,
      attempts: row.attempts + sent,
      message: `${reason}; nothing was decided`,
    };
    const done = await this.db.transaction(async (tx) => {
      const updated = await completeAction(tx, row.id, update, options.final ? new Date() : null);
      if (options.final) await options.also?.(tx, updated);
      return updated;
    });
    if (options.final) {
      this.outbox.committed();
      this.count(done);
    }
    return {
      action: done,
      fresh: true,
      failure: { reason, retryAfterSeconds: err.retryAfterSeconds },
    };
  }

  private count(row: CitizenActionRow): void {
    this.counter.inc({ action: row.action, outcome: row.outcome, channel: row.channel });
  }
}

/** What the audit row says about the hub's answer, in words. */
function describe(
  outcome: ActionOutcome,
  answer: { status: number; message: string },
  settled: Settled<unknown>,
): string {
  const said =
    outcome === 'REGISTERED'
      ? 'registered with this operator'
      : outcome === 'ALREADY_REGISTERED'
        ? 'already registered with an operator'
        : answer.status === 204
          ? 'unregistered (204: done, or the citizen was not registered)'
          : 'unregistered';
  const how = settled.settledBy
    ? `; the hub's answer was ambiguous (${settled.ambiguousStatus || 'no answer'}), settled by validateCitizen`
    : '';
  const hub = answer.message ? ` (hub: ${answer.message.slice(0, 200)})` : '';
  return `GovCarpeta: ${said}${how}${hub}`;
}
