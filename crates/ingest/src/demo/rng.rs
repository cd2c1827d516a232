//! The demo's randomness, fixed forever: the same seed gives the same bytes
//! (scripts/lib.sh caches the dataset by the generator's hash, and tests
//! compare figures).

/// The seed of every demo dataset.
pub(super) const SEED: u64 = 0x00F0_4E9A_2021_1116;

/// SplitMix64: tiny, fast and fixed forever, so the dataset never changes
/// with a dependency's version.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in [0, 1).
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `0..n`.
    pub(super) fn below(&mut self, n: usize) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let r = (self.next() % n as u64) as usize;
        r
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of integers in [0, 1), fixed forever like [`Rng`].
#[allow(clippy::cast_precision_loss, clippy::cast_sign_loss)]
pub(super) fn h01(a: i64, b: i64, c: i64) -> f64 {
    let z = mix(mix(mix(0x5EED ^ a as u64) ^ b as u64) ^ c as u64);
    (z >> 11) as f64 / (1u64 << 53) as f64
}
