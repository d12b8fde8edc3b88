-- Retention (src/retention.ts) deletes rows past their time: sent events, handled messages,
-- expired idempotency keys and refresh tokens. BRIN indexes let it find the old pages without
-- scanning whole tables, and cost next to nothing per insert. Building one reads its table once
-- while holding off writes to it; on a large outbox that is seconds.
CREATE INDEX "idempotency_keys_created_brin" ON "idempotency_keys" USING brin ("created_at");--> statement-breakpoint
CREATE INDEX "inbox_received_brin" ON "inbox" USING brin ("received_at");--> statement-breakpoint
CREATE INDEX "outbox_created_brin" ON "outbox" USING brin ("created_at");--> statement-breakpoint
CREATE INDEX "refresh_tokens_expires_brin" ON "refresh_tokens" USING brin ("expires_at");