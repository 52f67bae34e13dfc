-- ensure_migrations_table() (oxyde/migrations/tracker.py)
CREATE TABLE IF NOT EXISTS oxyde_migrations (
            id INT PRIMARY KEY AUTO_INCREMENT,
            name VARCHAR(255) NOT NULL UNIQUE,
            applied_at TIMESTAMP NOT NULL
        );
-- oxyde sqlmigrate 0001_create_pub_author_table
CREATE TABLE `pub_author` ( `id` BIGINT PRIMARY KEY AUTO_INCREMENT, `email` VARCHAR(120) NOT NULL UNIQUE, `name` VARCHAR(80) NOT NULL, `age` BIGINT, `active` TINYINT NOT NULL DEFAULT 1, `rating` DOUBLE NOT NULL DEFAULT 0.0, `balance` DECIMAL(10,2) NOT NULL DEFAULT 0, `joined` DATE );
CREATE INDEX `pub_author_name_idx` ON `pub_author` (`name`);
CREATE TABLE `pub_post` ( `id` BIGINT PRIMARY KEY AUTO_INCREMENT, `title` VARCHAR(200) NOT NULL, `body` TEXT NOT NULL, `published_at` DATETIME(6), `token` CHAR(36), `meta` JSON, `author_id` BIGINT );
CREATE INDEX `pub_post_title_published_at_idx` ON `pub_post` (`title`, `published_at`);
ALTER TABLE `pub_post` ADD CONSTRAINT `fk_pub_post_author_id` FOREIGN KEY (`author_id`) REFERENCES `pub_author` (`id`) ON DELETE CASCADE ON UPDATE CASCADE;
-- oxyde sqlmigrate 0002_add_bio_to_pub_author
ALTER TABLE `pub_author` ADD COLUMN `bio` VARCHAR(500);
