import type { Db } from '../../db/client.js';
import type { DirectoryEntry } from '../hub/directory.js';
import type { HubGateway } from '../hub/gateway.js';
import { AppError } from '../shared/errors.js';
import type { OperatorDirectory } from './directory.service.js';
import { recordRegistrationStep } from './operator-registrations.repository.js';

/** This operator as configured (OPERATOR_ID, OPERATOR_NAME, PUBLIC_BASE_URL). */
export interface OwnIdentity {
  id: string | undefined;
  name: string | undefined;
  publicBaseUrl: string | undefined;
}

/** What registerOperator needs besides the name (asked of the person registering). */
export interface Application {
  address: string;
  contactMail: string;
  participants: string[];
}

/** What the directory says about us, and what a registration run did. */
export interface RegistrationReport {
  name: string;
  operatorId: string | null;
  /** The directory lists us (by id). */
  listed: boolean;
  /** Our transfer endpoint as the directory has it, and as it should be. */
  transferUrl: string | null;
  expectedTransferUrl: string | null;
  registeredNow: boolean;
  endpointsRegisteredNow: boolean;
  /** Something at the hub changed in this run. */
  changed: boolean;
  notes: string[];
}

/** Our endpoints under the public base URL (the transfer protocol's paths, interop.md §3). */
export function transferEndpoints(publicBaseUrl: string) {
  const base = publicBaseUrl.replace(/\/$/, '');
  return {
    endPoint: `${base}/api/transferCitizen`,
    endPointConfirm: `${base}/api/transferCitizenConfirm`,
  };
}

const fold = (t: string) =>
  t.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();

/**
 * Registers this operator at the hub, once: the directory has no delete, so registerOperator is
 * sent only when the directory does not list us and lists no operator of our name (then whoever
 * registered must say which id is ours: OPERATOR_ID). Then our transfer endpoints, built from
 * PUBLIC_BASE_URL, unless the directory has them already. A second run changes nothing and says
 * so. Each step is recorded (operator_registrations) with the id the hub gave.
 */
export class OperatorRegistration {
  constructor(
    private readonly db: Db,
    private readonly hub: HubGateway,
    private readonly directory: OperatorDirectory,
    private readonly identity: OwnIdentity,
  ) {}

  /** What the directory says about us now (asks the hub). */
  async check(): Promise<RegistrationReport> {
    const { name } = this.named();
    const { operators } = await this.directory.list({ fresh: true });
    const entry = this.identity.id
      ? operators.find((o) => o.operatorId === this.identity.id)
      : undefined;
    const notes: string[] = [];
    if (!this.identity.id) {
      const same = operators.filter((o) => fold(o.name) === fold(name));
      notes.push(
        same.length > 0
          ? `OPERATOR_ID is unset; the directory lists ${same.length} operator(s) named "${name}": ${same.map((o) => o.operatorId).join(', ')}`
          : `OPERATOR_ID is unset and the directory lists no operator named "${name}": not registered`,
      );
    } else if (!entry) {
      notes.push(`the directory does not list OPERATOR_ID ${this.identity.id}`);
    }
    return this.report(name, entry?.operatorId ?? this.identity.id ?? null, entry, notes);
  }

  /** Registers what is missing; `requestedBy` is recorded with each step. */
  async register(application: Application | undefined, requestedBy: string | null) {
    const { name } = this.named();
    const { operators } = await this.directory.list({ fresh: true });
    let entry: DirectoryEntry | undefined;
    let registeredNow = false;
    const notes: string[] = [];
    if (this.identity.id) {
      entry = operators.find((o) => o.operatorId === this.identity.id);
      if (!entry) {
        throw new AppError(
          'CONFLICT',
          `OPERATOR_ID ${this.identity.id} is not in the hub's directory: fix it, or unset it to register "${name}" anew`,
        );
      }
    } else {
      const same = operators.filter((o) => fold(o.name) === fold(name));
      if (same.length > 0) {
        throw new AppError(
          'CONFLICT',
          `The directory lists ${same.length} operator(s) named "${name}" (${same.map((o) => o.operatorId).join(', ')}): ` +
            'if one is this operator, set OPERATOR_ID to it; the hub has no delete, so it is not registered again',
        );
      }
      if (!application) {
        throw new AppError(
          'VALIDATION_ERROR',
          'Registering this operator needs its address, contact mail and participants',
        );
      }
      entry = await this.registerOperator(name, application, operators, requestedBy);
      registeredNow = true;
      notes.push(`registered: set OPERATOR_ID=${entry.operatorId} for this service`);
    }

    let endpointsRegisteredNow = false;
    if (!this.identity.publicBaseUrl) {
      notes.push('PUBLIC_BASE_URL is unset: no transfer endpoints registered');
    } else {
      const endpoints = transferEndpoints(this.identity.publicBaseUrl);
      if (entry.transferUrl !== endpoints.endPoint) {
        await this.hub.registerTransferEndPoint({ operatorId: entry.operatorId, ...endpoints });
        await recordRegistrationStep(this.db, {
          step: 'register_transfer_endpoints',
          operatorId: entry.operatorId,
          name,
          detail: endpoints,
          requestedBy,
        });
        entry = { ...entry, transferUrl: endpoints.endPoint };
        endpointsRegisteredNow = true;
      }
    }
    const report = this.report(name, entry.operatorId, entry, notes);
    report.registeredNow = registeredNow;
    report.endpointsRegisteredNow = endpointsRegisteredNow;
    report.changed = registeredNow || endpointsRegisteredNow;
    if (!report.changed) report.notes.push('nothing to change: the hub has this operator as it is');
    return report;
  }

  private async registerOperator(
    name: string,
    application: Application,
    before: DirectoryEntry[],
    requestedBy: string | null,
  ): Promise<DirectoryEntry> {
    const answer = await this.hub.registerOperator({ name, ...application });
    // The id, from the answer or else from the directory: the one new entry of our name.
    const known = new Set(before.map((o) => o.operatorId));
    const { operators } = await this.directory.list({ fresh: true });
    const entry =
      operators.find((o) => o.operatorId === answer.operatorId) ??
      operators.find((o) => !known.has(o.operatorId) && fold(o.name) === fold(name));
    await recordRegistrationStep(this.db, {
      step: 'register_operator',
      operatorId: entry?.operatorId ?? answer.operatorId ?? null,
      name,
      detail: { answer, application },
      requestedBy,
    });
    if (entry) return entry;
    if (answer.operatorId) return { operatorId: answer.operatorId, name, transferUrl: null };
    throw new AppError(
      'UPSTREAM_UNAVAILABLE',
      'GovCarpeta registered the operator but gave no id, and its directory does not list it yet: run the check again later (do not register again)',
    );
  }

  private named(): { name: string } {
    if (!this.identity.name) {
      throw new AppError('NOT_CONFIGURED', 'Registering this operator needs OPERATOR_NAME');
    }
    return { name: this.identity.name };
  }

  private report(
    name: string,
    operatorId: string | null,
    entry: DirectoryEntry | undefined,
    notes: string[],
  ): RegistrationReport {
    const expected = this.identity.publicBaseUrl
      ? transferEndpoints(this.identity.publicBaseUrl).endPoint
      : null;
    return {
      name,
      operatorId,
      listed: entry !== undefined,
      transferUrl: entry?.transferUrl ?? null,
      expectedTransferUrl: expected,
      registeredNow: false,
      endpointsRegisteredNow: false,
      changed: false,
      notes,
    };
  }
}
