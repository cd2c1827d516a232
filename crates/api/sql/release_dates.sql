-- The releases to compare: `r_to`, the one in force at $2 (default: the
-- latest), and `r_from`, the one in force at $1 (default: the one before
-- `r_to`); NULL where there is none. `latest`: NULL when there is no
-- release at all.
WITH t AS (
    SELECT CASE WHEN $2::date IS NULL THEN (SELECT max(as_of) FROM coverage_release)
                ELSE (SELECT max(as_of) FROM coverage_release WHERE as_of <= $2::date) END AS r_to
)
SELECT (SELECT max(as_of) FROM coverage_release) AS latest,
       t.r_to,
       CASE WHEN $1::date IS NULL THEN (SELECT max(as_of) FROM coverage_release WHERE as_of < t.r_to)
            ELSE (SELECT max(as_of) FROM coverage_release WHERE as_of <= $1::date) END AS r_from
FROM t
