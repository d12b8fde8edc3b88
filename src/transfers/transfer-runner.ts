import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/client.js';
import type { Outbox } from '../messaging/outbox.js';
import type { TransferMetrics } from './metrics.js';
import type { TransferSteps } from './transfer-steps.js';
import { advance, claimDue } from './transfers.repository.js';
import type { TransferRow } from './transfers.table.js';

export interface TransferRunnerOptions {
  db: Db;
  outbox: Outbox;
  steps: TransferSteps;
  metrics: TransferMetrics;
  log: FastifyBaseLogger;
  /** How often it looks for due steps when not woken. */
  pollMs: number;
  /** How long a claim holds: longer than a step's slowest call (a peer POST's timeout). */
  leaseMs: number;
  /** Transfers claimed (and run concurrently) at once. */
  batchSize: number;
  /** For tests: who this runner is (a random id by default). */
  owner?: string;
}

/**
 * Runs the steps of transfers that are due, in whichever process runs it (API and worker both
 * do; replicas share the work). Each pass claims due transfers (claimDue: SKIP LOCKED, with a
 * lease), runs one step of each and records it fenced by the claim, with the events of an ending
 * in the same transaction. A process that dies mid-step leaves its claim to lapse; the step then
 * runs again elsewhere, and what it had already done is found recorded (transfer-steps.ts).
 */
export class TransferRunner {
  readonly owner: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(private readonly o: TransferRunnerOptions) {
    this.owner = o.owner ?? `runner-${randomUUID()}`;
  }

  /** Another runner on the same database, as a replica (another process) would be. */
  replica(owner?: string): TransferRunner {
    return new TransferRunner({ ...this.o, owner: owner ?? `runner-${randomUUID()}` });
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Look for due steps now (something became due in this process). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: claims what is due and runs one step of each. Returns how many ran. */
  async runOnce(): Promise<number> {
    const claimed = await claimDue(this.o.db, this.owner, this.o.leaseMs, this.o.batchSize);
    await Promise.all(claimed.map((row) => this.step(row)));
    return claimed.length;
  }

  /**
   * Runs a step's effect and records nothing, as a process that dies right after it would.
   * For the fault tests only: a later run of the step must find the effect and not repeat it.
   */
  async runStepUnrecorded(row: TransferRow): Promise<void> {
    await this.o.steps.run(row);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        this.schedule(this.again ? 0 : this.o.pollMs);
        this.again = false;
      });
    }, ms);
    this.timer.unref();
  }

  /** Passes until nothing more is due (a full batch may have more behind it). */
  private async loop(): Promise<void> {
    try {
      while (!this.stopped) {
        this.again = false;
        const ran = await this.runOnce();
        if (ran < this.o.batchSize && !this.again) return;
      }
    } catch (err) {
      this.o.log.error({ err: { message: (err as Error).message } }, 'transfer pass failed');
    }
  }

  private async step(row: TransferRow): Promise<void> {
    const log = this.o.log.child({ transfer_id: row.id, step: row.step });
    try {
      const result = await this.o.steps.run(row);
      const { also, ...change } = result;
      const done = await this.o.db.transaction(async (tx) => {
        const updated = await advance(tx, row, this.owner, change);
        if (updated && also) await also(tx, updated);
        return updated;
      });
      if (!done) {
        log.warn('transfer step not recorded: its claim lapsed and another runner has it');
        return;
      }
      if (also) this.o.outbox.committed();
      this.o.metrics.steps.inc({ step: row.step, outcome: change.outcome });
      if (done.status !== 'IN_PROGRESS') {
        this.o.metrics.ended.inc({ direction: done.direction, outcome: done.status });
        log.info({ status: done.status }, `transfer ${done.status.toLowerCase()}`);
      } else if (change.outcome === 'retry') {
        log.debug({ due_in_s: Math.round(change.dueInSeconds) }, 'transfer step to run again');
      } else {
        log.info({ next: done.step, outcome: change.outcome }, 'transfer step done');
      }
      if (change.dueInSeconds === 0) this.kick();
    } catch (err) {
      // Our own dependencies failed (Postgres): the claim lapses and the step runs again.
      log.error({ err: { message: (err as Error).message } }, 'transfer step failed; will retry');
    }
  }
}
