-- ensure_migrations_table() (oxyde/migrations/tracker.py)
CREATE TABLE IF NOT EXISTS oxyde_migrations (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            applied_at TIMESTAMP NOT NULL
        );
-- oxyde sqlmigrate 0001_create_pub_author_table
CREATE TABLE "pub_author" ( "id" INTEGER PRIMARY KEY, "email" VARCHAR(120) NOT NULL UNIQUE, "name" VARCHAR(80) NOT NULL, "age" INTEGER, "active" INTEGER NOT NULL DEFAULT 1, "rating" REAL NOT NULL DEFAULT 0.0, "balance" TEXT NOT NULL DEFAULT 0, "joined" TEXT );
CREATE INDEX "pub_author_name_idx" ON "pub_author" ("name");
CREATE TABLE "pub_post" ( "id" INTEGER PRIMARY KEY, "title" VARCHAR(200) NOT NULL, "body" TEXT NOT NULL, "published_at" TEXT, "token" TEXT, "meta" TEXT, "author_id" INTEGER, FOREIGN KEY ("author_id") REFERENCES "pub_author" ("id") ON DELETE CASCADE ON UPDATE CASCADE );
CREATE INDEX "pub_post_title_published_at_idx" ON "pub_post" ("title", "published_at");
-- oxyde sqlmigrate 0002_add_bio_to_pub_author
ALTER TABLE "pub_author" ADD COLUMN "bio" VARCHAR(500);
