import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Counter } from 'prom-client';
import type { Db } from '../../db/client.js';
import { type DocumentAuthentication, documentAuthentications, inbox } from '../../db/schema.js';
import type { Caller } from '../affiliation/service.js';
import { hubFailureReason } from '../affiliation/service.js';
import { upstreamUnavailable } from '../errors.js';
import { enqueueEvent, type Outbox } from '../events/outbox.js';
import { type AuthenticationRequest, ROUTING_KEYS } from '../events/schemas.js';
import { HubError } from '../hub/client.js';
import type { HubGateway } from '../hub/gateway.js';
import type { SaveAnswer } from '../idempotency.js';

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

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A UUID derived from a name (RFC 9562 version 8 layout over SHA-256): stable event ids. */
export function uuidFromName(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x80;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
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
    private readonly authentications: Counter<'status' | 'channel'>,
  ) {}

  async authenticate(
    input: AuthenticateInput,
    caller: Caller,
    save?: SaveAnswer,
  ): Promise<AuthenticationView> {
    const base = {
      citizenId: input.citizenId,
      documentId: input.documentId ?? null,
      documentTitle: input.documentTitle,
      documentUrlSha256: sha256(input.documentUrl),
      channel: 'http' as const,
      messageId: null,
      requestedBy: caller.requestedBy,
      requestId: caller.requestId,
    };
    let answer: Awaited<ReturnType<HubGateway['authenticateDocument']>>;
    try {
      answer = await this.hub.authenticateDocument(input);
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      const message = hubFailureReason(err);
      await this.db.insert(documentAuthentications).values({
        ...base,
        status: 'ERROR',
        authenticated: null,
        message,
        authenticatedAt: new Date(),
      });
      this.authentications.inc({ status: 'ERROR', channel: 'http' });
      throw upstreamUnavailable(
        `${message}; the document was not authenticated, retry later`,
        err.retryAfterSeconds,
        err,
      );
    }
    const row: DocumentAuthentication = {
      ...base,
      id: crypto.randomUUID(),
      status: answer.authenticated ? 'VERIFIED' : 'REJECTED',
      authenticated: answer.authenticated,
      message: answer.message || (answer.authenticated ? 'Authenticated' : 'Not authenticated'),
      authenticatedAt: new Date(),
    };
    const view = authenticationView(row);
    const event = {
      event_type: ROUTING_KEYS.documentAuthenticated,
      authentication_id: row.id,
      citizen_id: row.citizenId,
      document_id: row.documentId,
      authenticated: answer.authenticated,
      timestamp: view.authenticated_at,
    };
    await this.outbox.record(
      documentAuthentications,
      row,
      ROUTING_KEYS.documentAuthenticated,
      event,
      save && ((tx) => save(tx, { statusCode: 200, body: view })),
    );
    this.authentications.inc({ status: row.status, channel: 'http' });
    return view;
  }

  async find(id: string): Promise<AuthenticationView | undefined> {
    const [row] = await this.db
      .select()
      .from(documentAuthentications)
      .where(eq(documentAuthentications.id, id));
    return row ? authenticationView(row) : undefined;
  }

  /** Has the worker already handled this request message? */
  async handled(messageId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: inbox.messageId })
      .from(inbox)
      .where(eq(inbox.messageId, messageId));
    return row !== undefined;
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
      documentUrlSha256: sha256(request.documentUrl),
      status: completion.kind === 'gave_up' ? 'ERROR' : authenticated ? 'VERIFIED' : 'REJECTED',
      authenticated,
      message: completion.message || (authenticated ? 'Authenticated' : 'Not authenticated'),
      channel: 'amqp',
      messageId: request.messageId,
      requestedBy: null,
      requestId: null,
      authenticatedAt: new Date(),
    };
    const first = await this.db.transaction(async (tx) => {
      const claimed = await tx
        .insert(inbox)
        .values({ messageId: request.messageId, authenticationId: row.id })
        .onConflictDoNothing()
        .returning({ id: inbox.messageId });
      if (claimed.length === 0) return false;
      await tx.insert(documentAuthentications).values(row);
      await enqueueEvent(
        tx,
        ROUTING_KEYS.authenticationCompleted,
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
    });
    if (first) {
      this.outbox.committed();
      this.authentications.inc({ status: row.status, channel: 'amqp' });
    }
    return first;
  }
}
