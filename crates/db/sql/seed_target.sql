INSERT INTO target (id, title, unit, comparator, target_value, deadline, metric, metric_params,
                    source_document, source_date, source_quote, note, sort_order)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (id) DO UPDATE SET
    title = EXCLUDED.title, unit = EXCLUDED.unit, comparator = EXCLUDED.comparator,
    target_value = EXCLUDED.target_value, deadline = EXCLUDED.deadline, metric = EXCLUDED.metric,
    metric_params = EXCLUDED.metric_params, source_document = EXCLUDED.source_document,
    source_date = EXCLUDED.source_date, source_quote = EXCLUDED.source_quote,
    note = EXCLUDED.note, sort_order = EXCLUDED.sort_order
