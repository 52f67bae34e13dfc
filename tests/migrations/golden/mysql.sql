-- 0001_initial (forwards)
CREATE TABLE `mg_author` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `name` VARCHAR(100) NOT NULL UNIQUE, `bio` VARCHAR(500) COMMENT 'Author''s bio, 100% optional') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `mg_post` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `title` VARCHAR(200) NOT NULL, `state` ENUM('draft', 'published') NOT NULL DEFAULT 'draft', `price` DECIMAL(8,2) NOT NULL DEFAULT 9.50, `published` DATE NOT NULL DEFAULT '2024-01-31', `pinned` TINYINT(1) NOT NULL DEFAULT 0, `data` JSON, `created` DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP, `author_id` BIGINT, CONSTRAINT `mg_post_title_author_id_uniq` UNIQUE (`title`, `author_id`), CONSTRAINT `mg_post_price_pos` CHECK (price >= 0), KEY `mg_post_title_state_idx` (`title`, `state`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
ALTER TABLE `mg_post` ADD CONSTRAINT `fk_mg_post_author_id` FOREIGN KEY (`author_id`) REFERENCES `mg_author` (`id`) ON DELETE SET NULL ON UPDATE CASCADE;

-- 0001_initial (backwards)
DROP TABLE `mg_post`;
DROP TABLE `mg_author`;

-- 0002_changes (forwards)
ALTER TABLE `mg_post` MODIFY COLUMN `state` ENUM('draft', 'published', 'archived') NOT NULL DEFAULT 'draft';
ALTER TABLE `mg_post` MODIFY COLUMN `state` ENUM('draft', 'review', 'published', 'archived') NOT NULL DEFAULT 'draft';
ALTER TABLE `mg_post` ADD COLUMN `views` BIGINT NOT NULL DEFAULT 0;
ALTER TABLE `mg_post` MODIFY COLUMN `title` VARCHAR(300);
ALTER TABLE `mg_author` DROP INDEX `name`;
ALTER TABLE `mg_post` MODIFY COLUMN `pinned` BIGINT NOT NULL;
ALTER TABLE `mg_post` CHANGE COLUMN `published` `published_on` DATE NOT NULL DEFAULT '2024-01-31';
ALTER TABLE `mg_author` DROP COLUMN `bio`;
CREATE INDEX `mg_post_views_idx` ON `mg_post` (`views`);
ALTER TABLE `mg_post` ADD CONSTRAINT `mg_post_state_views_uniq` UNIQUE (`state`, `views`);
ALTER TABLE `mg_post` ADD CONSTRAINT `mg_post_views_pos` CHECK (views >= 0);
ALTER TABLE `mg_post` DROP FOREIGN KEY `fk_mg_post_author_id`;
ALTER TABLE `mg_post` ADD CONSTRAINT `fk_mg_post_author` FOREIGN KEY (`author_id`) REFERENCES `mg_author` (`id`) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE `mg_author` RENAME TO `mg_writer`;

-- 0002_changes (backwards)
ALTER TABLE `mg_writer` RENAME TO `mg_author`;
ALTER TABLE `mg_post` DROP FOREIGN KEY `fk_mg_post_author`;
ALTER TABLE `mg_post` ADD CONSTRAINT `fk_mg_post_author_id` FOREIGN KEY (`author_id`) REFERENCES `mg_author` (`id`) ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE `mg_post` DROP CONSTRAINT `mg_post_views_pos`;
ALTER TABLE `mg_post` DROP INDEX `mg_post_state_views_uniq`;
DROP INDEX `mg_post_views_idx` ON `mg_post`;
ALTER TABLE `mg_author` ADD COLUMN `bio` VARCHAR(500);
ALTER TABLE `mg_post` CHANGE COLUMN `published_on` `published` DATE NOT NULL DEFAULT '2024-01-31';
ALTER TABLE `mg_post` MODIFY COLUMN `pinned` TINYINT(1) NOT NULL DEFAULT 0;
ALTER TABLE `mg_author` ADD UNIQUE KEY `name` (`name`);
ALTER TABLE `mg_post` MODIFY COLUMN `title` VARCHAR(200) NOT NULL;
ALTER TABLE `mg_post` DROP COLUMN `views`;
ALTER TABLE `mg_post` MODIFY COLUMN `state` ENUM('draft', 'published') NOT NULL DEFAULT 'draft';

-- 0003_enum_values (forwards)
UPDATE mg_post SET state = 'draft' WHERE state = 'review';
ALTER TABLE `mg_post` MODIFY COLUMN `state` ENUM('draft', 'published', 'archived') NOT NULL DEFAULT 'draft';

-- 0003_enum_values (backwards)
ALTER TABLE `mg_post` MODIFY COLUMN `state` ENUM('draft', 'review', 'published', 'archived') NOT NULL DEFAULT 'draft';
-- manual migration required: restore the posts that were in review
