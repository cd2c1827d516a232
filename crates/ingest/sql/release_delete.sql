-- The release row itself, once no version refers to it.
DELETE FROM coverage_release WHERE as_of = $1
