CREATE TYPE "public"."affiliation_type" AS ENUM('CONTRIBUTIVO', 'SUBSIDIADO');--> statement-breakpoint
CREATE TYPE "public"."check_status" AS ENUM('ELIGIBLE', 'ALREADY_AFFILIATED', 'ERROR');--> statement-breakpoint
CREATE TYPE "public"."document_type" AS ENUM('CC', 'TI', 'CE', 'PA', 'RC', 'NIT', 'PEP', 'PPT');--> statement-breakpoint
CREATE TYPE "public"."verification_status" AS ENUM('VERIFIED', 'REJECTED', 'ERROR');--> statement-breakpoint
CREATE TABLE "affiliation_checks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"citizen_id" text NOT NULL,
	"document_type" "document_type" NOT NULL,
	"affiliation_type" "affiliation_type",
	"status" "check_status" NOT NULL,
	"eligible" boolean,
	"reason" text NOT NULL,
	"source" text NOT NULL,
	"requested_by" text,
	"request_id" text,
	"checked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "document_authentications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"citizen_id" text NOT NULL,
	"document_id" text,
	"document_title" text NOT NULL,
	"document_url_sha256" text NOT NULL,
	"status" "verification_status" NOT NULL,
	"authenticated" boolean,
	"message" text NOT NULL,
	"channel" text NOT NULL,
	"message_id" text,
	"requested_by" text,
	"request_id" text,
	"authenticated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"principal" text NOT NULL,
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status_code" integer NOT NULL,
	"response" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_principal_scope_key_pk" PRIMARY KEY("principal","scope","key")
);
--> statement-breakpoint
CREATE TABLE "inbox" (
	"message_id" text PRIMARY KEY NOT NULL,
	"authentication_id" uuid NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" uuid PRIMARY KEY NOT NULL,
	"routing_key" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE INDEX "affiliation_checks_citizen_idx" ON "affiliation_checks" USING btree ("citizen_id","checked_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "affiliation_checks_time_idx" ON "affiliation_checks" USING btree ("checked_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("created_at") WHERE "outbox"."sent_at" is null;--> statement-breakpoint
-- Hand-written: wake the outbox relays (LISTEN outbox) as soon as an event is committed.
CREATE FUNCTION "outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "outbox_notify" AFTER INSERT ON "outbox" FOR EACH STATEMENT EXECUTE FUNCTION "outbox_notify"();
