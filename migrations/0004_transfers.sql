CREATE TYPE "public"."transfer_direction" AS ENUM('OUT', 'IN');--> statement-breakpoint
CREATE TYPE "public"."transfer_status" AS ENUM('IN_PROGRESS', 'COMPLETED', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."transfer_step" AS ENUM('VERIFY', 'UNREGISTER', 'SEND', 'AWAIT_CONFIRMATION', 'RECONCILE', 'REGISTER_BACK', 'AWAIT_DOCUMENTS', 'CHECK_FREE', 'REGISTER', 'CALLBACK', 'DONE');--> statement-breakpoint
CREATE TABLE "transfer_steps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"transfer_id" uuid NOT NULL,
	"step" "transfer_step" NOT NULL,
	"outcome" text NOT NULL,
	"attempt" integer NOT NULL,
	"detail" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "transfers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"direction" "transfer_direction" NOT NULL,
	"citizen_id" text NOT NULL,
	"citizen_name" text NOT NULL,
	"citizen_email" text NOT NULL,
	"documents" jsonb NOT NULL,
	"peer_operator_id" text,
	"peer_name" text,
	"peer_url" text NOT NULL,
	"status" "transfer_status" NOT NULL,
	"step" "transfer_step" NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"step_since" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone,
	"locked_by" text,
	"req_status" smallint,
	"documents_stored" jsonb,
	"reason" text,
	"requested_by" text,
	"request_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "transfer_steps" ADD CONSTRAINT "transfer_steps_transfer_id_transfers_id_fk" FOREIGN KEY ("transfer_id") REFERENCES "public"."transfers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "transfer_steps_transfer_idx" ON "transfer_steps" USING btree ("transfer_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "transfers_in_progress_citizen_idx" ON "transfers" USING btree ("citizen_id") WHERE "transfers"."status" = 'IN_PROGRESS';--> statement-breakpoint
CREATE INDEX "transfers_due_idx" ON "transfers" USING btree ("due_at") WHERE "transfers"."status" = 'IN_PROGRESS';--> statement-breakpoint
CREATE INDEX "transfers_created_idx" ON "transfers" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "transfers_citizen_idx" ON "transfers" USING btree ("citizen_id","created_at" DESC NULLS LAST);