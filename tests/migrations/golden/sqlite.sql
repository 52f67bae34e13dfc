-- 0001_initial (forwards)
CREATE TABLE "mg_author" ("id" INTEGER PRIMARY KEY, "name" VARCHAR(100) NOT NULL UNIQUE, "bio" VARCHAR(500));
CREATE TABLE "mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(200) NOT NULL, "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL DEFAULT 0, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");

-- 0001_initial (backwards)
DROP TABLE "mg_post";
DROP TABLE "mg_author";

-- 0002_changes (forwards)
ALTER TABLE "mg_post" ADD COLUMN "views" INTEGER NOT NULL DEFAULT 0;
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL DEFAULT 0, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE TABLE "_oxyde_new_mg_author" ("id" INTEGER PRIMARY KEY, "name" VARCHAR(100) NOT NULL, "bio" VARCHAR(500));
INSERT INTO "_oxyde_new_mg_author" ("id", "name", "bio") SELECT "id", "name", "bio" FROM "mg_author";
DROP TABLE "mg_author";
ALTER TABLE "_oxyde_new_mg_author" RENAME TO "mg_author";
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
ALTER TABLE "mg_post" RENAME COLUMN "published" TO "published_on";
CREATE TABLE "_oxyde_new_mg_author" ("id" INTEGER PRIMARY KEY, "name" VARCHAR(100) NOT NULL);
INSERT INTO "_oxyde_new_mg_author" ("id", "name") SELECT "id", "name" FROM "mg_author";
DROP TABLE "mg_author";
ALTER TABLE "_oxyde_new_mg_author" RENAME TO "mg_author";
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published_on" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_state_views_uniq" UNIQUE ("state", "views"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published_on" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_state_views_uniq" UNIQUE ("state", "views"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), CONSTRAINT "mg_post_views_pos" CHECK (views >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published_on" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_state_views_uniq" UNIQUE ("state", "views"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), CONSTRAINT "mg_post_views_pos" CHECK (views >= 0));
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published_on" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_state_views_uniq" UNIQUE ("state", "views"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), CONSTRAINT "mg_post_views_pos" CHECK (views >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE CASCADE ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
ALTER TABLE "mg_author" RENAME TO "mg_writer";

-- 0002_changes (backwards)
ALTER TABLE "mg_writer" RENAME TO "mg_author";
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published_on" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_state_views_uniq" UNIQUE ("state", "views"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), CONSTRAINT "mg_post_views_pos" CHECK (views >= 0));
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published_on" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_state_views_uniq" UNIQUE ("state", "views"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), CONSTRAINT "mg_post_views_pos" CHECK (views >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published_on" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_state_views_uniq" UNIQUE ("state", "views"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published_on" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published_on", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE INDEX "mg_post_views_idx" ON "mg_post" ("views");
DROP INDEX "mg_post_views_idx";
ALTER TABLE "mg_author" ADD COLUMN "bio" VARCHAR(500);
ALTER TABLE "mg_post" RENAME COLUMN "published_on" TO "published";
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(300), "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL DEFAULT 0, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE TABLE "_oxyde_new_mg_author" ("id" INTEGER PRIMARY KEY, "name" VARCHAR(100) NOT NULL UNIQUE, "bio" VARCHAR(500));
INSERT INTO "_oxyde_new_mg_author" ("id", "name", "bio") SELECT "id", "name", "bio" FROM "mg_author";
DROP TABLE "mg_author";
ALTER TABLE "_oxyde_new_mg_author" RENAME TO "mg_author";
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(200) NOT NULL, "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL DEFAULT 0, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, "views" INTEGER NOT NULL DEFAULT 0, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published", "pinned", "data", "created", "author_id", "views") SELECT "id", "title", "state", "price", "published", "pinned", "data", "created", "author_id", "views" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");
CREATE TABLE "_oxyde_new_mg_post" ("id" INTEGER PRIMARY KEY, "title" VARCHAR(200) NOT NULL, "state" TEXT NOT NULL DEFAULT 'draft', "price" TEXT NOT NULL DEFAULT '9.50', "published" TEXT NOT NULL DEFAULT '2024-01-31', "pinned" INTEGER NOT NULL DEFAULT 0, "data" TEXT, "created" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "author_id" INTEGER, CONSTRAINT "mg_post_title_author_id_uniq" UNIQUE ("title", "author_id"), CONSTRAINT "mg_post_price_pos" CHECK (price >= 0), FOREIGN KEY ("author_id") REFERENCES "mg_author" ("id") ON DELETE SET NULL ON UPDATE CASCADE);
INSERT INTO "_oxyde_new_mg_post" ("id", "title", "state", "price", "published", "pinned", "data", "created", "author_id") SELECT "id", "title", "state", "price", "published", "pinned", "data", "created", "author_id" FROM "mg_post";
DROP TABLE "mg_post";
ALTER TABLE "_oxyde_new_mg_post" RENAME TO "mg_post";
CREATE INDEX "mg_post_title_state_idx" ON "mg_post" ("title", "state");

-- 0003_enum_values (forwards)
UPDATE mg_post SET state = 'draft' WHERE state = 'review';

-- 0003_enum_values (backwards)
-- manual migration required: restore the posts that were in review
