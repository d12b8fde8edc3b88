CREATE TABLE "security_events" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"kind" text NOT NULL,
	"subject" text,
	"source" text,
	"request_id" text,
	"detail" jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "security_events_seq_positive" CHECK ("security_events"."seq" > 0)
);
--> statement-breakpoint
CREATE INDEX "security_events_kind_at_idx" ON "security_events" USING btree ("kind","at");--> statement-breakpoint
CREATE INDEX "security_events_subject_at_idx" ON "security_events" USING btree ("subject","at");--> statement-breakpoint
-- Append-only: the service never changes or removes a security event, and the database refuses
-- it too. (An owner can still drop the trigger; the hash chain then shows where rows changed.)
CREATE FUNCTION "security_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'security_events is append-only (% refused)', TG_OP;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "security_events_no_update_or_delete" BEFORE UPDATE OR DELETE ON "security_events"
  FOR EACH ROW EXECUTE FUNCTION "security_events_append_only"();--> statement-breakpoint
CREATE TRIGGER "security_events_no_truncate" BEFORE TRUNCATE ON "security_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "security_events_append_only"();
