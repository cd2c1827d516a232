SELECT bit, id FROM operator ORDER BY bit
