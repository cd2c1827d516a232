DELETE FROM target_history WHERE target_id = $1
