//! The CSV readers of every CSV ingest kind (header detection, delimiter,
//! rows, field checks), without a database: never a panic, and a file is
//! either accepted with its row count or refused with at least one problem
//! that names a place. The first byte picks the kind.
#![no_main]

use funkplan_ingest::fuzzing::{check, CsvKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&k, bytes)) = data.split_first() else { return };
    let kind = match k % 4 {
        0 => CsvKind::Households,
        1 => CsvKind::Sites,
        2 => CsvKind::Measures,
        _ => CsvKind::Coverage,
    };
    check(funkplan_ingest::fuzzing::csv(kind, bytes));
});
