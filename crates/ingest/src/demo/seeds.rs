//! What the demo takes from `seeds/` instead of copying it: the coverage
//! model's radii and urban rule, and the operators' mask bits.
//!
//! Why: the synthetic reported coverage is drawn with the model the engine
//! computes with; a change of the seeded radii or bits shows in the demo
//! too, rather than leaving a second copy behind.

use funkplan_db::seed::Seeds;
use funkplan_model::Technology;

use crate::{Error, Result};

/// The demo's operators (seed ids) with their shares of existing sites and
/// of new sites, in the order they are drawn. Market shares are the demo's
/// story, not seed data.
pub(super) const OPERATOR_SHARES: [(&str, f64, f64); 4] =
    [("telekom", 0.36, 0.27), ("vodafone", 0.33, 0.24), ("telefonica", 0.27, 0.19), ("1und1", 0.04, 0.30)];

/// Operators without a GSM network (the `gsm_out` column leaves them out).
const NO_GSM: &[&str] = &["1und1"];

/// The seeded values the demo draws with.
#[derive(Debug, Clone)]
pub(super) struct Model {
    /// Radius in metres per technology (`[lte, 5g]`) and setting
    /// (`[rural, urban]`).
    pub radius_m: [[f64; 2]; 2],
    /// Urban above this many households per km² around a site.
    pub urban_households_per_km2: f64,
    /// Radius over which that density is averaged.
    pub urban_density_radius_m: f64,
    /// Mask bit (`1 << seed bit`) of each operator of [`OPERATOR_SHARES`].
    pub op_bits: [u8; 4],
    /// The bits of the operators with GSM.
    pub gsm_mask: u8,
}

impl Model {
    /// The seeds compiled into the binary.
    pub(super) fn embedded() -> Result<Self> {
        let seeds = Seeds::embedded()?;
        let radius = |tech: Technology, setting: &str| {
            seeds.radii.iter().find(|r| r.technology == tech && r.setting == setting).map(|r| r.radius_m).ok_or_else(|| {
                Error::Usage(format!("seeds/coverage_model.json has no {tech} {setting} radius"))
            })
        };
        let param = |key: &str| {
            seeds
                .params
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.value)
                .ok_or_else(|| Error::Usage(format!("seeds/coverage_model.json has no parameter {key}")))
        };
        let bit = |id: &str| {
            seeds
                .operators
                .iter()
                .find(|o| o.id.as_str() == id)
                .and_then(|o| u32::try_from(o.bit).ok())
                .and_then(|b| 1u8.checked_shl(b))
                .ok_or_else(|| Error::Usage(format!("seeds/operators.json: operator {id} missing or its bit above 7")))
        };
        let mut op_bits = [0u8; 4];
        for (b, (id, _, _)) in op_bits.iter_mut().zip(OPERATOR_SHARES) {
            *b = bit(id)?;
        }
        let mut gsm_mask = 0;
        for (b, (id, _, _)) in op_bits.iter().zip(OPERATOR_SHARES) {
            if !NO_GSM.contains(&id) {
                gsm_mask |= b;
            }
        }
        Ok(Self {
            radius_m: [
                [radius(Technology::Lte, "rural")?, radius(Technology::Lte, "urban")?],
                [radius(Technology::Nr, "rural")?, radius(Technology::Nr, "urban")?],
            ],
            urban_households_per_km2: param("urban_households_per_km2")?,
            urban_density_radius_m: param("urban_density_radius_m")?,
            op_bits,
            gsm_mask,
        })
    }
}
