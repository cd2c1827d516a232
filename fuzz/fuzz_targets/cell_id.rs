//! `100mN…E…` cell ids: never a panic; what parses prints back the same
//! way (ids with leading zeros aside) and round-trips.
#![no_main]

use funkplan_model::CellId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(c) = s.parse::<CellId>() {
        let printed = c.to_string();
        assert_eq!(printed.parse::<CellId>().ok(), Some(c), "{s:?} → {printed:?} does not parse back");
        let (x, y) = c.centre_m();
        assert_eq!(CellId::containing(x, y), c, "the centre of {printed} lies in another cell");
    }
});
