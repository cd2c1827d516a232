SELECT month, value FROM target_history WHERE target_id = $1 ORDER BY month
