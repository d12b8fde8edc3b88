import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, type SQL } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Db, Executor } from '../../db/client.js';
import { findCitizen } from '../citizens/citizens.repository.js';
import { HubError } from '../hub/client.js';
import { hubFailureReason } from '../hub/failures.js';
import type { Outbox } from '../messaging/outbox.js';
import type { OperatorDirectory } from '../operators/directory.service.js';
import type { Cursor } from '../shared/cursor.js';
import type { TransferDirection, TransferStatus } from '../shared/enums.js';
import { AppError, upstreamUnavailable } from '../shared/errors.js';
import { transferCitizenReceived } from './events.js';
import type { TransferMetrics } from './metrics.js';
import type { PeerClient } from './peer-client.js';
import { PeerUrlRefused, safeOrigin } from './peer-guard.js';
import {
  findInProgress,
  findSteps,
  findTransfer,
  findTransfers,
  insertTransfer,
  recordAnswer,
} from './transfers.repository.js';
import {
  type TransferDocument,
  type TransferRow,
  type TransferStepRow,
  transfers,
} from './transfers.table.js';

/** This operator, as transfers need it: its hub identity and where peers reach it. */
export interface TransferIdentity {
  id: string;
  name: string;
  publicBaseUrl: string;
}

export interface OutgoingInput {
  citizenId: string;
  destinationOperatorId: string;
  citizenName: string;
  citizenEmail: string;
  documents: TransferDocument[];
}

export interface IncomingInput {
  citizenId: string;
  citizenName: string;
  citizenEmail: string;
  documents: TransferDocument[];
  confirmUrl: string;
}

export interface TransferView {
  transfer_id: string;
  direction: TransferDirection;
  citizen_id: string;
  status: TransferStatus;
  step: TransferRow['step'];
  peer_operator_id: string | null;
  peer_name: string | null;
  req_status: number | null;
  reason: string | null;
  attempts: number;
  documents: TransferDocument[];
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  steps?: {
    step: TransferStepRow['step'];
    outcome: TransferStepRow['outcome'];
    attempt: number;
    detail: string;
    at: string;
  }[];
}

export function transferView(row: TransferRow, steps?: TransferStepRow[]): TransferView {
  return {
    transfer_id: row.id,
    direction: row.direction,
    citizen_id: row.citizenId,
    status: row.status,
    step: row.step,
    peer_operator_id: row.peerOperatorId,
    peer_name: row.peerName,
    req_status: row.reqStatus,
    reason: row.reason,
    attempts: row.attempts,
    documents: row.documents,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    completed_at: row.completedAt?.toISOString() ?? null,
    ...(steps
      ? {
          steps: steps.map((s) => ({
            step: s.step,
            outcome: s.outcome,
            attempt: s.attempt,
            detail: s.detail,
            at: s.at.toISOString(),
          })),
        }
      : {}),
  };
}

export interface TransferServiceOptions {
  db: Db;
  outbox: Outbox;
  directory: OperatorDirectory;
  peers: PeerClient;
  identity: TransferIdentity | null;
  /** The settings that lack, when identity is null (named in the 503). */
  missing: string[];
  /** Incoming transfers wait for the documents service's answer, this long at most. */
  waitForDocuments: boolean;
  documentsTimeoutSeconds: number;
  metrics: TransferMetrics;
  log: FastifyBaseLogger;
  citizenRef: (citizenId: string) => string;
  /** Called when a transfer becomes due now (the runner of this process looks at once). */
  kick: () => void;
}

/**
 * Transfers as the routes and consumers see them: starting one out, receiving one in, applying a
 * confirmation or the documents service's answer, and reading them. The steps themselves are run
 * by the runner (transfer-runner.ts, transfer-steps.ts): these only write state and wake it.
 */
export class TransferService {
  constructor(private readonly o: TransferServiceOptions) {}

  /** This operator, or 503 NOT_CONFIGURED naming what is missing. */
  us(): TransferIdentity {
    if (this.o.identity) return this.o.identity;
    throw new AppError(
      'NOT_CONFIGURED',
      `Transfers need ${this.o.missing.join(', ')} (this operator at the hub, and where peers reach it)`,
    );
  }

  /**
   * Starts sending a citizen to another operator: the destination must be in the directory
   * with a transfer URL this service may call (422 otherwise), and the citizen must have no
   * transfer in progress (409). The steps run after the answer.
   */
  async start(
    input: OutgoingInput,
    who: { requestedBy: string; requestId: string },
    /** Written in the transaction that writes the transfer (an idempotent answer). */
    also?: (tx: Executor, row: TransferRow) => Promise<void>,
  ): Promise<TransferRow> {
    const us = this.us();
    if (input.destinationOperatorId === us.id) {
      throw new AppError('UNKNOWN_OPERATOR', 'The destination is this operator');
    }
    let found: Awaited<ReturnType<OperatorDirectory['find']>>;
    try {
      found = await this.o.directory.find(input.destinationOperatorId);
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      throw upstreamUnavailable(
        `${hubFailureReason(err)}; the operator directory is unavailable, nothing was started`,
        err.retryAfterSeconds,
        err,
      );
    }
    const entry = found.entry;
    if (!entry) {
      throw new AppError(
        'UNKNOWN_OPERATOR',
        `The hub directory lists no operator ${input.destinationOperatorId}`,
      );
    }
    if (!entry.transferUrl) {
      throw new AppError(
        'UNKNOWN_OPERATOR',
        `${entry.name} publishes no transfer URL in the hub directory`,
      );
    }
    const transferUrl = entry.transferUrl;
    await this.checkPeerUrl(transferUrl, 'its transfer URL');
    const row = await this.o.db.transaction(async (tx) => {
      const written = await insertTransfer(
        tx,
        {
          id: randomUUID(),
          direction: 'OUT',
          citizenId: input.citizenId,
          citizenName: input.citizenName,
          citizenEmail: input.citizenEmail,
          documents: input.documents,
          peerOperatorId: entry.operatorId,
          peerName: entry.name,
          peerUrl: transferUrl,
          step: 'VERIFY',
          ...who,
        },
        `requested: send to ${entry.name} (${entry.operatorId}) at ${safeOrigin(transferUrl)}`,
      );
      if (written) await also?.(tx, written);
      return written;
    });
    if (!row) throw await this.inProgress(input.citizenId);
    this.o.log.info(
      {
        transfer_id: row.id,
        citizen_ref: this.o.citizenRef(input.citizenId),
        to: entry.operatorId,
      },
      'transfer out started',
    );
    this.o.kick();
    return row;
  }

  /**
   * A peer sends us a citizen. A repeat for a citizen whose incoming transfer is in progress
   * answers that transfer (nothing new starts); a citizen registered with us, or going out, is
   * a 409; a callback URL this service will not call is a 422, recorded as a failed transfer.
   * Else the transfer is written with its `transfer.citizen.received` event, in one transaction.
   */
  async receive(input: IncomingInput): Promise<{ transfer: TransferRow; fresh: boolean }> {
    this.us();
    const existing = await findInProgress(this.o.db, input.citizenId);
    if (existing) return this.repeated(existing);
    const record = await findCitizen(this.o.db, input.citizenId);
    if (record?.status === 'REGISTERED') {
      throw new AppError('CITIZEN_IS_OURS', 'The citizen is registered with this operator already');
    }
    const origin = await this.originOf(input.confirmUrl);
    const base = {
      id: randomUUID(),
      direction: 'IN' as const,
      citizenId: input.citizenId,
      citizenName: input.citizenName,
      citizenEmail: input.citizenEmail,
      documents: input.documents,
      peerOperatorId: origin?.operatorId ?? null,
      peerName: origin?.name ?? null,
      peerUrl: input.confirmUrl,
    };
    try {
      await this.checkPeerUrl(input.confirmUrl, 'its confirmation URL');
    } catch (err) {
      if (err instanceof AppError) {
        await this.o.db.transaction(async (tx) => {
          const failed = await insertTransfer(
            tx,
            { ...base, step: 'DONE', reason: err.detail },
            `refused at receipt: ${err.detail}`,
            { status: 'FAILED' },
          );
          if (failed) this.o.metrics.ended.inc({ direction: 'IN', outcome: 'FAILED' });
        });
      }
      throw err;
    }
    const waiting = this.o.waitForDocuments;
    const step = waiting ? ('AWAIT_DOCUMENTS' as const) : ('CHECK_FREE' as const);
    const transfer = await this.o.db.transaction(async (tx) => {
      const row = await insertTransfer(
        tx,
        { ...base, step },
        `received from ${origin ? `${origin.name} (${origin.operatorId})` : 'an operator'} ` +
          `with ${input.documents.length} document(s); callback ${safeOrigin(input.confirmUrl)}`,
        // The documents service's answer wakes it; until then there is nothing to run.
        { dueInSeconds: waiting ? this.o.documentsTimeoutSeconds : 0 },
      );
      if (!row) return undefined;
      await this.o.outbox.enqueue(tx, transferCitizenReceived, {
        transfer_id: row.id,
        idCitizen: Number(input.citizenId),
        citizenName: input.citizenName,
        citizenEmail: input.citizenEmail,
        documents: input.documents,
      });
      return row;
    });
    if (!transfer) {
      // Another request for this citizen won the race: answer as a repeat.
      const winner = await findInProgress(this.o.db, input.citizenId);
      if (winner) return this.repeated(winner);
      throw new Error('transfer neither written nor found');
    }
    this.o.outbox.committed();
    this.o.log.info(
      { transfer_id: transfer.id, citizen_ref: this.o.citizenRef(input.citizenId) },
      'transfer in received',
    );
    if (!waiting) this.o.kick();
    return { transfer, fresh: true };
  }

  /**
   * The destination's answer to a citizen we sent: applied once, to our outgoing transfer for
   * that citizen that is waiting for it. True when applied or already applied (a repeat);
   * 404 when no transfer of ours waits for it.
   */
  async confirm(citizenId: string, reqStatus: 0 | 1): Promise<{ applied: boolean }> {
    const t = transfers;
    const applied = await recordAnswer(
      this.o.db,
      { reqStatus },
      and(
        eq(t.citizenId, citizenId),
        eq(t.direction, 'OUT'),
        inArray(t.step, ['SEND', 'AWAIT_CONFIRMATION']),
        isNull(t.reqStatus),
      ) as SQL,
      `confirmation received: req_status ${reqStatus}`,
    );
    if (applied) {
      this.o.log.info({ transfer_id: applied.id, req_status: reqStatus }, 'confirmation received');
      this.o.kick();
      return { applied: true };
    }
    const [latest] = await findTransfers(this.o.db, { citizenId, direction: 'OUT', limit: 1 });
    if (latest && (latest.reqStatus !== null || latest.status !== 'IN_PROGRESS')) {
      return { applied: false };
    }
    throw new AppError('NOT_FOUND', 'No transfer of this citizen waits for a confirmation here');
  }

  /** The documents service's answer for an incoming transfer: applied once; false otherwise. */
  async documentsStored(
    transferId: string,
    answer: { success: boolean; message: string },
  ): Promise<boolean> {
    const t = transfers;
    const said = answer.message ? ` (${answer.message.slice(0, 200)})` : '';
    const applied = await recordAnswer(
      this.o.db,
      { documentsStored: answer },
      and(
        eq(t.id, transferId),
        eq(t.direction, 'IN'),
        eq(t.step, 'AWAIT_DOCUMENTS'),
        isNull(t.documentsStored),
      ) as SQL,
      `documents service: ${answer.success ? 'stored' : 'failed'}${said}`,
    );
    if (applied) this.o.kick();
    return applied !== undefined;
  }

  async find(id: string): Promise<Required<TransferView> | undefined> {
    const row = await findTransfer(this.o.db, id);
    if (!row) return undefined;
    return transferView(row, await findSteps(this.o.db, id)) as Required<TransferView>;
  }

  list(query: {
    citizenId?: string | undefined;
    direction?: TransferDirection | undefined;
    status?: TransferStatus | undefined;
    cursor?: Cursor | undefined;
    limit: number;
  }): Promise<TransferRow[]> {
    return findTransfers(this.o.db, query);
  }

  /** A repeat of a citizen in progress: the same incoming transfer, or a 409 if it is leaving. */
  private repeated(existing: TransferRow) {
    if (existing.direction === 'IN') return { transfer: existing, fresh: false };
    throw new AppError(
      'TRANSFER_IN_PROGRESS',
      `The citizen is being transferred from this operator (transfer ${existing.id})`,
    );
  }

  private async inProgress(citizenId: string): Promise<AppError> {
    const existing = await findInProgress(this.o.db, citizenId);
    return new AppError(
      'TRANSFER_IN_PROGRESS',
      `The citizen has a transfer in progress${existing ? ` (${existing.id})` : ''}`,
    );
  }

  /** 422 PEER_URL_REFUSED when the guard will not call the URL (the reason, never the path). */
  private async checkPeerUrl(url: string, what: string): Promise<void> {
    try {
      await this.o.peers.guard.checkUrl(url);
    } catch (err) {
      if (!(err instanceof PeerUrlRefused)) throw err;
      this.o.log.warn({ peer: safeOrigin(url), why: err.why }, 'peer URL refused');
      throw new AppError('PEER_URL_REFUSED', `This service will not call ${what}: ${err.why}`);
    }
  }

  /** The directory's operator whose transfer URL has the callback's host, if one does. */
  private async originOf(confirmUrl: string) {
    try {
      const host = new URL(confirmUrl).hostname.toLowerCase();
      return (await this.o.directory.transferHosts()).get(host);
    } catch {
      return undefined;
    }
  }
}
