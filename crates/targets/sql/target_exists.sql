SELECT 1 FROM target WHERE id = $1
