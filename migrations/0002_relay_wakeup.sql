-- The relay is now woken in-process by the commits of its own process (src/events/outbox.ts),
-- and polls for the rest. A NOTIFY per insert made Postgres serialise every committing
-- transaction on the notification queue's lock, which capped the write rate.
DROP TRIGGER IF EXISTS "outbox_notify" ON "outbox";--> statement-breakpoint
DROP FUNCTION IF EXISTS "outbox_notify"();
