CREATE TYPE "public"."action_outcome" AS ENUM('PENDING', 'REGISTERED', 'ALREADY_REGISTERED', 'UNREGISTERED', 'REFUSED', 'ERROR');--> statement-breakpoint
CREATE TYPE "public"."citizen_action" AS ENUM('REGISTER', 'UNREGISTER');--> statement-breakpoint
CREATE TYPE "public"."citizen_status" AS ENUM('REGISTERED', 'UNREGISTERED');--> statement-breakpoint
CREATE TABLE "citizen_actions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"citizen_id" text NOT NULL,
	"action" "citizen_action" NOT NULL,
	"outcome" "action_outcome" NOT NULL,
	"hub_status" integer,
	"settled_by" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"message" text NOT NULL,
	"channel" text NOT NULL,
	"message_id" text,
	"requested_by" text,
	"request_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "citizens" (
	"citizen_id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"address" text NOT NULL,
	"email" text NOT NULL,
	"status" "citizen_status" NOT NULL,
	"operator_id" text NOT NULL,
	"registered_at" timestamp with time zone NOT NULL,
	"unregistered_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "operator_registrations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"step" text NOT NULL,
	"operator_id" text,
	"name" text NOT NULL,
	"detail" jsonb NOT NULL,
	"requested_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "exchange" text;--> statement-breakpoint
CREATE INDEX "citizen_actions_citizen_idx" ON "citizen_actions" USING btree ("citizen_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "citizen_actions_message_idx" ON "citizen_actions" USING btree ("message_id");