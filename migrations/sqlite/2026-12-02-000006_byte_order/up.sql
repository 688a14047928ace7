-- SQLite compares text by bytes (BINARY) already; PostgreSQL is brought in line by this
-- migration (COLLATE "C").
SELECT 1;
