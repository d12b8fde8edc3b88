import type { Db } from '../../db/client.js';
import { decideWithHub } from '../hub/failures.js';
import type { HubGateway } from '../hub/gateway.js';
import { type SaveAnswer, storeAnswer } from '../idempotency/idempotency.service.js';
import { claimMessage, wasHandled } from '../messaging/inbox.repository.js';
import type { Outbox } from '../messaging/outbox.js';
import type { Caller } from '../shared/caller.js';
import { sha256Hex, uuidFromName } from '../shared/hashing.js';
import { dbSpan } from '../telemetry/tracing.js';
import { findAuthentication, insertAuthentication } from './authentications.repository.js';
import { type DocumentAuthentication, documentAuthentications } from './authentications.table.js';
import {
  type AuthenticationRequest,
  authenticatedEvent,
  authenticationCompleted,
  documentAuthenticated,
} from './events.js';
import type { AuthenticationCounter } from './metrics.js';

export interface AuthenticateInput {
  citizenId: string;
  documentUrl: string;
  documentTitle: string;
  documentId?: string | undefined;
}

export interface AuthenticationView {
  authentication_id: string;
  citizen_id: string;
  document_id: string | null;
  document_title: string;
  authenticated: boolean | null;
  verification_status: DocumentAuthentication['status'];
  message: string;
  authenticated_at: string;
}

export function authenticationView(row: DocumentAuthentication): AuthenticationView {
  return {
    authentication_id: row.id,
    citizen_id: row.citizenId,
    document_id: row.documentId,
    document_title: row.documentTitle,
    authenticated: row.authenticated,
    verification_status: row.status,
    message: row.message,
    authenticated_at: row.authenticatedAt.toISOString(),
  };
}

/** What the worker concluded for one request message. */
export type Completion =
  | { kind: 'answered'; authenticated: boolean; message: string }
  | { kind: 'gave_up'; message: string };

/**
 * Document authentication, over HTTP (synchronous) or for the worker (queued requests). Each
 * result row and its event are written in one transaction; the document URL is never stored,
 * only its SHA-256.
 */
export class DocumentService {
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly hub: HubGateway,
    private readonly authentications: AuthenticationCounter,
  ) {}

  async authenticate(
    input: AuthenticateInput,
    caller: Caller,
    save?: SaveAnswer,
  ): Promise<AuthenticationView> {
    const base = {
      id: crypto.randomUUID(),
      citizenId: input.citizenId,
      documentId: input.documentId ?? null,
      documentTitle: input.documentTitle,
      documentUrlSha256: sha256Hex(input.documentUrl),
      channel: 'http' as const,
      messageId: null,
      requestedBy: caller.requestedBy,
      requestId: caller.requestId,
    };
    const answer = await decideWithHub(
      () => this.hub.authenticateDocument(input),
      async (message) => {
        await insertAuthentication(this.db, {
          ...base,
          status: 'ERROR',
          authenticated: null,
          message,
          authenticatedAt: new Date(),
        });
        this.authentications.inc({ status: 'ERROR', channel: 'http' });
      },
      'the document was not authenticated, retry later',
    );
    const row: DocumentAuthentication = {
      ...base,
      status: answer.authenticated ? 'VERIFIED' : 'REJECTED',
      authenticated: answer.authenticated,
      message: answer.message || (answer.authenticated ? 'Authenticated' : 'Not authenticated'),
      authenticatedAt: new Date(),
    };
    const view = authenticationView(row);
    const store = storeAnswer(save, view);
    const event = authenticatedEvent(row);
    await this.outbox.record(documentAuthentications, row, documentAuthenticated, event, store);
    this.authentications.inc({ status: row.status, channel: 'http' });
    return view;
  }

  async find(id: string): Promise<AuthenticationView | undefined> {
    const row = await findAuthentication(this.db, id);
    return row ? authenticationView(row) : undefined;
  }

  /** Has the worker already handled this request message? */
  handled(messageId: string): Promise<boolean> {
    return wasHandled(this.db, messageId);
  }

  /**
   * Records the worker's conclusion for a request message: the inbox entry, the result row and the
   * `document.authentication.completed` event, in one transaction. Returns false when another
   * delivery of the same message got there first (nothing is written).
   */
  async complete(request: AuthenticationRequest, completion: Completion): Promise<boolean> {
    const authenticated = completion.kind === 'answered' && completion.authenticated;
    const row: DocumentAuthentication = {
      id: crypto.randomUUID(),
      citizenId: request.citizenId,
      documentId: request.documentId,
      documentTitle: request.documentTitle,
      documentUrlSha256: sha256Hex(request.documentUrl),
      status: completion.kind === 'gave_up' ? 'ERROR' : authenticated ? 'VERIFIED' : 'REJECTED',
      authenticated,
      message: completion.message || (authenticated ? 'Authenticated' : 'Not authenticated'),
      channel: 'amqp',
      messageId: request.messageId,
      requestedBy: null,
      requestId: null,
      authenticatedAt: new Date(),
    };
    const tables = 'inbox, document_authentications, outbox';
    const first = await dbSpan('INSERT', tables, () =>
      this.db.transaction(async (tx) => {
        if (!(await claimMessage(tx, request.messageId, row.id))) return false;
        await insertAuthentication(tx, row);
        await this.outbox.enqueue(
          tx,
          authenticationCompleted,
          {
            messageId: request.messageId,
            documentId: request.documentId,
            idCitizen: request.citizenId,
            authenticated,
            message: row.message,
            authenticatedAt: row.authenticatedAt.toISOString(),
          },
          uuidFromName(`completed:${request.messageId}`),
        );
        return true;
      }),
    );
    if (first) {
      this.outbox.committed();
      this.authentications.inc({ status: row.status, channel: 'amqp' });
    }
    return first;
  }
}
