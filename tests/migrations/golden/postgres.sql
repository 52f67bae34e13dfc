-- 0001_initial (forwards)
CREATE TYPE "mg_state_enum" AS ENUM ('draft', 'published');
CREATE TABLE "mg_author" ("id" BIGSERIAL PRIMARY KEY, "name" VARCHAR(100) NOT NULL UNIQUE, "bio" VARCHAR(500));
COMMENT ON COLUMN "mg_author"."bio" IS 'Author''s bio, 100% optional';
CREATE TABLE "mg_post" ("id" BIGSERIAL PRIMARY KEY, "title" VARCHAR(200) NOT NULL, "state" "mg_state_enum" NOT NULL DEFAULT 'draft', "price" NUMERIC(8,2) NOT NULL DEFAULT 9.50, "published" DATE NOT NULL DEFAULT '2024-01-31', "pinned" BOOLEAN NOT NULL DEFAULT FALSE, "data" JSONB, "created" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" BIGINT, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0));
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
ALTER TABLE "mg_post" ADD CONSTRAINT "fk_mg_post_author_id" FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- 0001_initial (backwards)
DROP TABLE "mg_post" CASCADE;
DROP TABLE "mg_author" CASCADE;
DROP TYPE "mg_state_enum";

-- 0002_changes (forwards)
ALTER TYPE "mg_state_enum" ADD VALUE IF NOT EXISTS 'archived'; -- runs before the migration's transaction
ALTER TYPE "mg_state_enum" ADD VALUE IF NOT EXISTS 'review' BEFORE 'published'; -- runs before the migration's transaction
ALTER TABLE "mg_post" ADD COLUMN "views" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "mg_post" ALTER COLUMN "title" TYPE VARCHAR(300);
ALTER TABLE "mg_post" ALTER COLUMN "title" DROP NOT NULL;
DO $$DECLARE con text; BEGIN SELECT c.conname INTO con FROM pg_constraint c WHERE c.conrelid = '"mg_author"'::regclass AND c.contype = 'u' AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attname = 'name')]; IF con IS NOT NULL THEN EXECUTE format('ALTER TABLE "mg_author" DROP CONSTRAINT %I', con); END IF; END$$;
ALTER TABLE "mg_post" ALTER COLUMN "pinned" DROP DEFAULT;
ALTER TABLE "mg_post" ALTER COLUMN "pinned" TYPE BIGINT USING "pinned"::integer::BIGINT;
ALTER TABLE "mg_post" RENAME COLUMN "published" TO "published_on";
ALTER TABLE "mg_author" DROP COLUMN "bio";
CREATE INDEX "mg_post_views_idx" ON "mg_post" USING hash ("views");
ALTER TABLE "mg_post" ADD CONSTRAINT "mg_post_state_views_uniq" UNIQUE ("state", "views");
ALTER TABLE "mg_post" ADD CONSTRAINT "mg_post_views_pos" CHECK (views >= 0);
ALTER TABLE "mg_post" DROP CONSTRAINT "fk_mg_post_author_id";
ALTER TABLE "mg_post" ADD CONSTRAINT "fk_mg_post_author" FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "mg_author" RENAME TO "mg_writer";

-- 0002_changes (backwards)
ALTER TABLE "mg_writer" RENAME TO "mg_author";
ALTER TABLE "mg_post" DROP CONSTRAINT "fk_mg_post_author";
ALTER TABLE "mg_post" ADD CONSTRAINT "fk_mg_post_author_id" FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "mg_post" DROP CONSTRAINT "mg_post_views_pos";
ALTER TABLE "mg_post" DROP CONSTRAINT "mg_post_state_views_uniq";
DROP INDEX "mg_post_views_idx";
ALTER TABLE "mg_author" ADD COLUMN "bio" VARCHAR(500);
ALTER TABLE "mg_post" RENAME COLUMN "published_on" TO "published";
ALTER TABLE "mg_post" ALTER COLUMN "pinned" TYPE BOOLEAN USING "pinned"::integer::BOOLEAN;
ALTER TABLE "mg_post" ALTER COLUMN "pinned" SET DEFAULT FALSE;
ALTER TABLE "mg_author" ADD CONSTRAINT "mg_author_name_key" UNIQUE ("name");
ALTER TABLE "mg_post" ALTER COLUMN "title" TYPE VARCHAR(200);
ALTER TABLE "mg_post" ALTER COLUMN "title" SET NOT NULL;
ALTER TABLE "mg_post" DROP COLUMN "views";
ALTER TYPE "mg_state_enum" RENAME TO "mg_state_enum__old";
CREATE TYPE "mg_state_enum" AS ENUM ('draft', 'published');
ALTER TABLE "mg_post" ALTER COLUMN "state" DROP DEFAULT;
ALTER TABLE "mg_post" ALTER COLUMN "state" TYPE "mg_state_enum" USING "state"::text::"mg_state_enum";
ALTER TABLE "mg_post" ALTER COLUMN "state" SET DEFAULT 'draft';
DROP TYPE "mg_state_enum__old";

-- 0003_enum_values (forwards)
UPDATE mg_post SET state = 'draft' WHERE state = 'review';
ALTER TYPE "mg_state_enum" RENAME TO "mg_state_enum__old";
CREATE TYPE "mg_state_enum" AS ENUM ('draft', 'published', 'archived');
ALTER TABLE "mg_post" ALTER COLUMN "state" DROP DEFAULT;
ALTER TABLE "mg_post" ALTER COLUMN "state" TYPE "mg_state_enum" USING "state"::text::"mg_state_enum";
ALTER TABLE "mg_post" ALTER COLUMN "state" SET DEFAULT 'draft';
DROP TYPE "mg_state_enum__old";

-- 0003_enum_values (backwards)
ALTER TYPE "mg_state_enum" RENAME TO "mg_state_enum__old";
CREATE TYPE "mg_state_enum" AS ENUM ('draft', 'review', 'published', 'archived');
ALTER TABLE "mg_post" ALTER COLUMN "state" DROP DEFAULT;
ALTER TABLE "mg_post" ALTER COLUMN "state" TYPE "mg_state_enum" USING "state"::text::"mg_state_enum";
ALTER TABLE "mg_post" ALTER COLUMN "state" SET DEFAULT 'draft';
DROP TYPE "mg_state_enum__old";
-- manual migration required: restore the posts that were in review
