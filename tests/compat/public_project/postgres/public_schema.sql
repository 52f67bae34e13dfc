-- ensure_migrations_table() (oxyde/migrations/tracker.py)
CREATE TABLE IF NOT EXISTS oxyde_migrations (
            id SERIAL PRIMARY KEY,
            name VARCHAR(255) NOT NULL UNIQUE,
            applied_at TIMESTAMP NOT NULL
        );
-- oxyde sqlmigrate 0001_create_pub_author_table
CREATE TABLE "pub_author" ( "id" BIGSERIAL PRIMARY KEY, "email" VARCHAR(120) NOT NULL UNIQUE, "name" VARCHAR(80) NOT NULL, "age" BIGINT, "active" BOOLEAN NOT NULL DEFAULT TRUE, "rating" DOUBLE PRECISION NOT NULL DEFAULT 0.0, "balance" NUMERIC(10,2) NOT NULL DEFAULT 0, "joined" DATE );
CREATE INDEX "pub_author_name_idx" ON "pub_author" ("name");
CREATE TABLE "pub_post" ( "id" BIGSERIAL PRIMARY KEY, "title" VARCHAR(200) NOT NULL, "body" TEXT NOT NULL, "published_at" TIMESTAMP, "token" UUID, "meta" JSONB, "author_id" BIGINT );
CREATE INDEX "pub_post_title_published_at_idx" ON "pub_post" ("title", "published_at");
ALTER TABLE "pub_post" ADD CONSTRAINT "fk_pub_post_author_id" FOREIGN KEY ("author_id") REFERENCES "pub_author" ("id") ON DELETE CASCADE ON UPDATE CASCADE;
-- oxyde sqlmigrate 0002_add_bio_to_pub_author
ALTER TABLE "pub_author" ADD COLUMN "bio" VARCHAR(500);
