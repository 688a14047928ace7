ALTER TABLE releases DROP COLUMN carried_over;
