SELECT EXISTS (SELECT 1 FROM reported_coverage) AS has
