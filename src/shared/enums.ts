/**
 * The domain's vocabularies, in one place: what the tables store (as Postgres enums), what the
 * routes validate and what the events carry are these lists.
 */

/** `admin` may do everything; see src/auth/roles.ts for what the others may do. */
export const ROLES = ['admin', 'operator', 'service', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const DOCUMENT_TYPES = ['CC', 'TI', 'CE', 'PA', 'RC', 'NIT', 'PEP', 'PPT'] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

export const AFFILIATION_TYPES = ['CONTRIBUTIVO', 'SUBSIDIADO'] as const;
export type AffiliationType = (typeof AFFILIATION_TYPES)[number];

/** An affiliation check's outcome; ERROR is a hub failure (audited, never a decision). */
export const CHECK_STATUSES = ['ELIGIBLE', 'ALREADY_AFFILIATED', 'ERROR'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** `hub`: asked now; `cache`: a recent answer reused. */
export const CHECK_SOURCES = ['hub', 'cache'] as const;
export type CheckSource = (typeof CHECK_SOURCES)[number];

/** A document authentication's outcome; ERROR is a hub failure. */
export const VERIFICATION_STATUSES = ['VERIFIED', 'REJECTED', 'ERROR'] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** How a request reached the service (`transfer`: a step of a transfer saga). */
export const CHANNELS = ['http', 'amqp', 'transfer'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Whether this operator holds a citizen (as far as our record knows). */
export const CITIZEN_STATUSES = ['REGISTERED', 'UNREGISTERED'] as const;
export type CitizenStatus = (typeof CITIZEN_STATUSES)[number];

/** What was asked of the hub for a citizen. */
export const CITIZEN_ACTIONS = ['REGISTER', 'UNREGISTER'] as const;
export type CitizenAction = (typeof CITIZEN_ACTIONS)[number];

/**
 * How a citizen action ended. PENDING: asked, no answer recorded yet (in flight, or its process
 * died); REFUSED: not sent to the hub (another operator's request); ERROR: the hub could not say.
 */
export const ACTION_OUTCOMES = [
  'PENDING',
  'REGISTERED',
  'ALREADY_REGISTERED',
  'UNREGISTERED',
  'REFUSED',
  'ERROR',
] as const;
export type ActionOutcome = (typeof ACTION_OUTCOMES)[number];

/** Which way a citizen moves: `OUT` from us to another operator, `IN` from one to us. */
export const TRANSFER_DIRECTIONS = ['OUT', 'IN'] as const;
export type TransferDirection = (typeof TRANSFER_DIRECTIONS)[number];

/** Where a transfer is: still moving, or ended (docs/transfers.md). */
export const TRANSFER_STATUSES = ['IN_PROGRESS', 'COMPLETED', 'FAILED'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

/**
 * The step a transfer is at. Out: VERIFY (the hub says the citizen is ours) → UNREGISTER → SEND
 * (POST the peer) → AWAIT_CONFIRMATION → (timeout) RECONCILE; any failure after UNREGISTER goes
 * through REGISTER_BACK. In: AWAIT_DOCUMENTS → CHECK_FREE → REGISTER → CALLBACK. DONE: ended.
 */
export const TRANSFER_STEPS = [
  'VERIFY',
  'UNREGISTER',
  'SEND',
  'AWAIT_CONFIRMATION',
  'RECONCILE',
  'REGISTER_BACK',
  'AWAIT_DOCUMENTS',
  'CHECK_FREE',
  'REGISTER',
  'CALLBACK',
  'DONE',
] as const;
export type TransferStep = (typeof TRANSFER_STEPS)[number];
