/** Who asked for a decision, as its audit row records it. */
export interface Caller {
  /** The access token's subject. */
  requestedBy: string;
  requestId: string;
}
