//! AGS keys: never a panic; what parses is 8 ASCII digits, round-trips,
//! and its state and district are its prefixes.
#![no_main]

use funkplan_model::Ags;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(a) = s.parse::<Ags>() {
        assert_eq!(a.as_str(), s);
        assert!(s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()), "{s:?} accepted");
        assert_eq!(a.to_string().parse::<Ags>().ok(), Some(a));
        assert!(s.starts_with(a.district()) && a.district().starts_with(a.state()));
    }
});
