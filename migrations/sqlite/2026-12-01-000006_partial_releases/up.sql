-- A partial import (--partial) names the file roles it did not have: their rows were carried
-- over unchanged from the previous release. NULL for a complete release.
ALTER TABLE releases ADD COLUMN carried_over TEXT;
