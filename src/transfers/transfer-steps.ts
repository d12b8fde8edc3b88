import type { Executor } from '../../db/client.js';
import { findCitizen } from '../citizens/citizens.repository.js';
import type { CitizenService, Requester } from '../citizens/citizens.service.js';
import { HubError } from '../hub/client.js';
import { hubFailureReason } from '../hub/failures.js';
import { type HubGateway, names } from '../hub/gateway.js';
import type { Outbox } from '../messaging/outbox.js';
import { transferCompleted, transferFailed, userTransferred } from './events.js';
import type { PeerClient } from './peer-client.js';
import type { StepChange } from './transfers.repository.js';
import type { TransferIdentity } from './transfers.service.js';
import type { TransferRow } from './transfers.table.js';

/** The budgets and delays of the steps (docs/transfers.md lists them). */
export interface TransferTimings {
  /** Out: wait this long for the destination's confirmation, then ask validateCitizen. */
  confirmTimeoutSeconds: number;
  /** In: wait this long for the documents service's answer, then fail. */
  documentsTimeoutSeconds: number;
  /** In: validateCitizen must say free within this (the origin may unregister late). */
  freeWaitSeconds: number;
  /** A step asking the hub tries this long before it gives up (where giving up is safe). */
  hubBudgetSeconds: number;
  /** Out: the destination must accept the citizen within this. */
  sendBudgetSeconds: number;
  /** In: the origin's callback is tried this long. */
  callbackBudgetSeconds: number;
  /** Delay before retry n: base * 2^n, at most max, ±20 %. */
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** Registered as a transferred citizen's address (the protocol carries none). */
  unknownAddress: string;
}

export interface StepDeps {
  hub: HubGateway;
  citizens: CitizenService;
  peers: PeerClient;
  outbox: Outbox;
  db: Executor;
  identity: TransferIdentity;
  timings: TransferTimings;
}

/** What running a step decided, and what to write with it when the transfer ends. */
export interface StepResult extends StepChange {
  also?: (tx: Executor, row: TransferRow) => Promise<void>;
}

const confirmPath = '/api/transferCitizenConfirm';

/**
 * The steps of both directions (the order is in src/shared/enums.ts and docs/transfers.md). Each
 * reads the transfer as claimed, does at most one outward effect (a hub call through the citizen
 * service, which records it under a message id of the transfer and step, so a step run again
 * after a crash finds it and asks nothing twice; or one POST to a peer), and says what comes next.
 */
export class TransferSteps {
  constructor(private readonly d: StepDeps) {}

  run(row: TransferRow, now = Date.now()): Promise<StepResult> {
    const at = new Step(row, now, this.d.timings);
    switch (row.step) {
      case 'VERIFY':
        return this.verify(at);
      case 'UNREGISTER':
        return this.unregister(at);
      case 'SEND':
        return this.send(at);
      case 'AWAIT_CONFIRMATION':
        return this.awaitConfirmation(at);
      case 'RECONCILE':
        return this.reconcile(at);
      case 'REGISTER_BACK':
        return this.registerBack(at);
      case 'AWAIT_DOCUMENTS':
        return Promise.resolve(this.awaitDocuments(at));
      case 'CHECK_FREE':
        return this.checkFree(at);
      case 'REGISTER':
        return this.register(at);
      case 'CALLBACK':
        return this.callback(at);
      case 'DONE':
        throw new Error(`transfer ${row.id} is DONE but in progress`);
    }
  }

  // ---- out ----------------------------------------------------------------------------------

  /** The hub must say the citizen is registered with us: else nothing is changed. */
  private async verify(s: Step): Promise<StepResult> {
    const state = await this.ask(() => this.d.hub.validateNow(s.row.citizenId));
    if (state instanceof HubError) {
      return s.retryOr(hubFailureReason(state), () =>
        this.fail(`${hubFailureReason(state)}; nothing was changed`),
      );
    }
    if (!state.registered || !this.ours(state.message)) {
      return this.fail(
        `the hub does not show the citizen registered with this operator; nothing was changed (hub: ${clip(state.message)})`,
      );
    }
    return s.next('UNREGISTER', 'the hub shows the citizen registered with this operator');
  }

  private async unregister(s: Step): Promise<StepResult> {
    const last = s.spent(this.d.timings.hubBudgetSeconds);
    const result = await this.d.citizens.unregister(s.row.citizenId, this.requester(s, 'out'), {
      final: last,
    });
    if (result.failure || result.action.outcome === 'ERROR') {
      // It may have happened (the hub could not say): registering back settles it either way.
      const why = `unregistering: ${result.failure?.reason ?? result.action.message}`;
      const giveUp = () => s.failTo('REGISTER_BACK', why);
      return result.failure ? s.retryOr(why, giveUp) : giveUp();
    }
    return s.next('SEND', `unregistered at the hub: ${clip(result.action.message)}`);
  }

  private async send(s: Step): Promise<StepResult> {
    const body = {
      id: Number(s.row.citizenId),
      citizenName: s.row.citizenName,
      citizenEmail: s.row.citizenEmail,
      urlDocuments: groupByTitle(s.row.documents),
      confirmAPI: `${this.d.identity.publicBaseUrl}${confirmPath}`,
    };
    const sent = await this.d.peers.post(s.row.peerUrl, body);
    switch (sent.kind) {
      case 'accepted':
        return s.next('AWAIT_CONFIRMATION', `the destination accepted (${sent.status})`, {
          dueInSeconds: s.row.reqStatus === null ? this.d.timings.confirmTimeoutSeconds : 0,
        });
      case 'refused':
        return s.failTo('REGISTER_BACK', `the destination refused the citizen (${sent.why})`);
      case 'blocked':
        return s.failTo('REGISTER_BACK', `the destination's URL was refused: ${sent.why}`);
      case 'unreachable':
        return s.retryOr(
          sent.why,
          () =>
            s.failTo(
              'REGISTER_BACK',
              `the destination could not be reached for ${this.d.timings.sendBudgetSeconds} s (${sent.why})`,
            ),
          this.d.timings.sendBudgetSeconds,
        );
    }
  }

  /**
   * The confirmation: 1 is believed only when the hub shows the citizen with another operator
   * (a confirmation is an unauthenticated POST: a forged 1 must not leave a citizen with no
   * operator); 0 registers the citizen back. None within the timeout: RECONCILE.
   */
  private async awaitConfirmation(s: Step): Promise<StepResult> {
    const { reqStatus } = s.row;
    const timeout = this.d.timings.confirmTimeoutSeconds;
    if (reqStatus === 0) {
      return s.failTo('REGISTER_BACK', 'the destination answered req_status 0');
    }
    if (reqStatus === null) {
      if (s.spent(timeout)) return s.next('RECONCILE', `no confirmation within ${timeout} s`);
      return s.wait(Math.max(1, timeout - s.elapsed()));
    }
    const state = await this.ask(() => this.d.hub.validateNow(s.row.citizenId));
    if (state instanceof HubError) return s.retry(hubFailureReason(state));
    if (state.registered && !this.ours(state.message)) {
      return this.complete('confirmed by the destination (req_status 1)', false);
    }
    if (state.registered) {
      return this.fail('req_status 1, but the hub shows the citizen still with this operator');
    }
    return s.retryOr(
      'req_status 1, but the hub does not show the citizen registered yet',
      () =>
        s.failTo(
          'REGISTER_BACK',
          `req_status 1, but the hub showed the citizen free for ${this.d.timings.freeWaitSeconds} s`,
        ),
      this.d.timings.freeWaitSeconds,
    );
  }

  /** No confirmation came: the hub says where the citizen is. Asked until it answers. */
  private async reconcile(s: Step): Promise<StepResult> {
    const state = await this.ask(() => this.d.hub.validateNow(s.row.citizenId));
    if (state instanceof HubError) return s.retry(hubFailureReason(state));
    if (state.registered && !this.ours(state.message)) {
      return this.complete(
        `no confirmation, but the hub shows the citizen with another operator (${clip(state.message)})`,
        true,
      );
    }
    if (state.registered) {
      return this.fail('no confirmation, and the hub shows the citizen with this operator');
    }
    return s.failTo('REGISTER_BACK', 'no confirmation, and the hub shows the citizen free');
  }

  /** The citizen comes back to us: tried until the hub registers it (never given up). */
  private async registerBack(s: Step): Promise<StepResult> {
    const record = await findCitizen(this.d.db, s.row.citizenId);
    const result = await this.d.citizens.register(
      {
        citizenId: s.row.citizenId,
        name: record?.name ?? s.row.citizenName,
        address: record?.address ?? this.d.timings.unknownAddress,
        email: record?.email ?? s.row.citizenEmail,
      },
      this.requester(s, 'back'),
      { final: false },
    );
    if (result.failure) return s.retry(`registering back: ${result.failure.reason}`);
    const why = s.row.reason ?? 'the transfer failed';
    if (result.action.outcome === 'REGISTERED') {
      return this.fail(`${why}; registered with this operator again`);
    }
    return this.fail(
      `${why}; registering back, the hub said the citizen is registered with an operator already (${clip(result.action.message)})`,
    );
  }

  // ---- in -----------------------------------------------------------------------------------

  private awaitDocuments(s: Step): StepResult {
    const answer = s.row.documentsStored;
    const timeout = this.d.timings.documentsTimeoutSeconds;
    if (answer?.success) return s.next('CHECK_FREE', 'the documents service stored the documents');
    if (answer) {
      return s.callbackWith(0, `the documents service failed: ${clip(answer.message)}`);
    }
    if (s.spent(timeout)) {
      return s.callbackWith(0, `no answer from the documents service within ${timeout} s`);
    }
    return s.wait(Math.max(1, timeout - s.elapsed()));
  }

  private async checkFree(s: Step): Promise<StepResult> {
    const budget = this.d.timings.freeWaitSeconds;
    const state = await this.ask(() => this.d.hub.validateNow(s.row.citizenId));
    const why =
      state instanceof HubError
        ? hubFailureReason(state)
        : state.registered && !this.ours(state.message)
          ? 'the hub still shows the citizen with another operator'
          : undefined;
    if (why === undefined) return s.next('REGISTER', 'the hub shows the citizen free');
    return s.retryOr(why, () => s.callbackWith(0, `${why} after ${budget} s`), budget);
  }

  private async register(s: Step): Promise<StepResult> {
    const result = await this.d.citizens.register(
      {
        citizenId: s.row.citizenId,
        name: s.row.citizenName,
        address: this.d.timings.unknownAddress,
        email: s.row.citizenEmail,
      },
      this.requester(s, 'in'),
      { final: s.spent(this.d.timings.hubBudgetSeconds) },
    );
    if (result.failure || result.action.outcome === 'ERROR') {
      const why = `${result.failure?.reason ?? result.action.message}; the citizen was not registered`;
      const giveUp = () => s.callbackWith(0, why);
      return result.failure ? s.retryOr(why, giveUp) : giveUp();
    }
    if (result.action.outcome === 'REGISTERED') {
      return s.callbackWith(1, 'registered with this operator');
    }
    return s.callbackWith(0, `the hub refused: ${clip(result.action.message)}`);
  }

  private async callback(s: Step): Promise<StepResult> {
    const reqStatus = s.row.reqStatus === 1 ? 1 : 0;
    const budget = this.d.timings.callbackBudgetSeconds;
    const sent = await this.d.peers.post(s.row.peerUrl, {
      id: Number(s.row.citizenId),
      req_status: reqStatus,
    });
    const before = s.row.reason ? `${s.row.reason}; ` : '';
    const end = (detail: string) =>
      reqStatus === 1 ? this.complete(detail, false) : this.fail(`${before}${detail}`);
    switch (sent.kind) {
      case 'accepted':
        return end(`the origin was told req_status ${reqStatus} (${sent.status})`);
      case 'refused':
        return end(`the origin refused the confirmation (${sent.why})`);
      case 'blocked':
        return end(`the origin's confirmation URL was refused: ${sent.why}`);
      case 'unreachable':
        return s.retryOr(
          sent.why,
          () => end(`the origin could not be told for ${budget} s (${sent.why})`),
          budget,
        );
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  private ours(sentence: string): boolean {
    return names(sentence, this.d.identity.name);
  }

  private async ask<T>(call: () => Promise<T>): Promise<T | HubError> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof HubError) return err;
      throw err;
    }
  }

  /** The citizen service's requester for this transfer's step: its message id makes it once. */
  private requester(s: Step, what: 'out' | 'back' | 'in'): Requester {
    return {
      channel: 'transfer',
      requestedBy: s.row.requestedBy,
      requestId: s.row.id,
      messageId: `transfer:${s.row.id}:${what}`,
    };
  }

  /** Ends as COMPLETED, with its events (out: `user.transferred` for the local services). */
  private complete(detail: string, reconciled: boolean): StepResult {
    return {
      step: 'DONE',
      outcome: 'done',
      detail,
      dueInSeconds: 0,
      status: 'COMPLETED',
      ...(reconciled ? { reason: detail } : {}),
      also: async (tx, row) => {
        const at = new Date().toISOString();
        if (row.direction === 'OUT') {
          const body = { idCitizen: Number(row.citizenId) };
          await this.d.outbox.enqueue(tx, userTransferred, body, undefined, '');
          await this.d.outbox.enqueue(tx, userTransferred, body);
        }
        await this.d.outbox.enqueue(tx, transferCompleted, {
          event_type: 'transfer.completed',
          transfer_id: row.id,
          direction: row.direction,
          citizen_id: row.citizenId,
          peer_operator_id: row.peerOperatorId,
          reconciled,
          timestamp: at,
        });
      },
    };
  }

  /** Ends as FAILED, saying why, with `transfer.failed`. */
  private fail(reason: string): StepResult {
    return {
      step: 'DONE',
      outcome: 'failed',
      detail: reason,
      dueInSeconds: 0,
      status: 'FAILED',
      reason,
      also: async (tx, row) => {
        await this.d.outbox.enqueue(tx, transferFailed, {
          event_type: 'transfer.failed',
          transfer_id: row.id,
          direction: row.direction,
          citizen_id: row.citizenId,
          peer_operator_id: row.peerOperatorId,
          reason,
          timestamp: new Date().toISOString(),
        });
      },
    };
  }
}

/** One run of a step: its transfer, the time, and how it says what comes next. */
class Step {
  constructor(
    readonly row: TransferRow,
    private readonly now: number,
    private readonly t: TransferTimings,
  ) {}

  /** Seconds since the step began. */
  elapsed(): number {
    return (this.now - this.row.stepSince.getTime()) / 1000;
  }

  /** Has the step used up `budget` seconds (its next try would be past it)? */
  spent(budget: number): boolean {
    return this.elapsed() + this.delay() > budget;
  }

  next(step: TransferRow['step'], detail: string, o: { dueInSeconds?: number } = {}): StepResult {
    return { step, outcome: 'done', detail, dueInSeconds: o.dueInSeconds ?? 0 };
  }

  /** The step failed; the failure path goes on at `step`, the reason kept. */
  failTo(step: TransferRow['step'], reason: string): StepResult {
    return { step, outcome: 'failed', detail: reason, dueInSeconds: 0, reason };
  }

  /** In: on to the callback, telling the origin `reqStatus`. */
  callbackWith(reqStatus: 0 | 1, detail: string): StepResult {
    return {
      step: 'CALLBACK',
      outcome: reqStatus === 1 ? 'done' : 'failed',
      detail,
      dueInSeconds: 0,
      reqStatus,
      ...(reqStatus === 0 ? { reason: detail } : {}),
    };
  }

  /** The same step again after the backoff. */
  retry(why: string): StepResult {
    const delay = this.delay();
    return {
      step: this.row.step,
      outcome: 'retry',
      detail: `${why}; again in ${Math.round(delay)} s`,
      dueInSeconds: delay,
    };
  }

  /** Nothing to do yet: looked at again in `seconds` (or when woken). */
  wait(seconds: number): StepResult {
    return {
      step: this.row.step,
      outcome: 'retry',
      detail: `waiting (${Math.round(seconds)} s left)`,
      dueInSeconds: seconds,
    };
  }

  /** Retry, unless the step has used up `budget` (default: the hub budget): then `giveUp()`. */
  retryOr(why: string, giveUp: () => StepResult, budget = this.t.hubBudgetSeconds): StepResult {
    return this.spent(budget) ? giveUp() : this.retry(why);
  }

  /** The backoff before the next try: base * 2^attempts, at most the max, ±20 %. */
  private delay(): number {
    const d = Math.min(this.t.retryMaxSeconds, this.t.retryBaseSeconds * 2 ** this.row.attempts);
    return d * (0.8 + 0.4 * this.jitter());
  }

  private jitter(): number {
    // Fixed per transfer and attempt: `spent()` and `retry()` of one run agree.
    const n = Number.parseInt(this.row.id.slice(0, 8), 16) + this.row.attempts * 2654435761;
    return (n % 1000) / 1000;
  }
}

/** The wire shape of documents: `{title: [url, …]}`, one key per title. */
export function groupByTitle(documents: { title: string; url: string }[]) {
  const grouped: Record<string, string[]> = {};
  for (const { title, url } of documents) {
    grouped[title] = [...(grouped[title] ?? []), url];
  }
  return grouped;
}

const clip = (text: string) => text.slice(0, 200);
