SELECT id, title, unit, comparator, target_value, deadline, metric, metric_params,
       source_document, source_date, source_quote, note
FROM target
ORDER BY sort_order, id
