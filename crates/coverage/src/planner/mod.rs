//! The dead-spot closing planner (issue 23): which new sites close the most
//! of what is left.
//!
//! The question is a weighted maximum-coverage problem on the 100 m grid.
//! The *elements* are the grid cells still open in the scope — for any
//! operator the cells no operator covers (dead spots), for one operator the
//! cells that operator does not cover (its own gaps), and optionally the
//! grey cells (one known operator) that a second operator would turn into
//! two. Each element is worth its households or its 0.01 km², or a mix.
//! A candidate site *covers* the elements its disk reaches (the engine's
//! coverage rule: the distance to the cell's centre at most the radius, the
//! radius by technology and the urban/rural class of the site as for every
//! other site). The objective of a set of sites is the total worth of the
//! elements at least one of them covers.
//!
//! That objective is a coverage function: monotone and submodular (a site
//! adds at most as much to a larger set as to a smaller one, since what it
//! covers can only already be covered more often). For such functions the
//! greedy choice — always the site with the largest marginal gain — is
//! within a factor 1 − 1/e ≈ 63 % of the best possible set of `k` sites
//! (Nemhauser, Wolsey & Fisher 1978), and computing the optimum is NP-hard,
//! so greedy is the method. Submodularity also makes a candidate's gain
//! computed in an earlier step an upper bound on its gain now, which lazy
//! evaluation (CELF, Leskovec et al. 2007) uses: the candidates sit in a
//! heap by their last-known gain, and only the top one is recomputed until
//! the top is current. The result is exactly the plain greedy order (ties
//! broken by the candidate's input order), at a fraction of its cost.
//!
//! Every gain is exact on the grid: the elements a candidate covers are
//! enumerated with the same disk runs the engine stamps with, and each
//! marginal gain is the sum over those not yet covered. So the cumulative
//! total equals what the scenario's figures show after the plan's sites
//! are added as planned sites (tested).
//!
//! The baseline is the scenario (every planned measure completed): the
//! plan closes what is left after what is already planned.

mod greedy;
pub mod reference;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Instant;

use funkplan_model::{CoverageSource, Technology};
use serde::{Deserialize, Serialize};

use crate::engine::{disk_runs, is_urban, munis_rect, threads, Masks, Rect};
use crate::grid::{Grid, Mask, NO_MUNI, TECHNOLOGIES, UNKNOWN};
use crate::model::{combine, Model, Site};

pub use greedy::{Bits, Elements, Gain};

/// What a plan maximises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Households newly covered.
    Households,
    /// Dead-spot (or gap) area closed, km².
    Area,
    /// `weight` × households share + (1 − `weight`) × area share of what is
    /// open in the scope (both normalised to 0..1 so they can be mixed).
    Mix {
        /// Weight of the households part, 0..=1.
        weight: f64,
    },
}

impl Objective {
    /// The objective's name as the CLI and API spell it.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Households => "households",
            Self::Area => "area",
            Self::Mix { .. } => "mix",
        }
    }
}

/// How a candidate's radius is found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RadiusRule {
    /// The model's radius for the technology, urban or rural by the
    /// households around the candidate (as for every site).
    Model,
    /// The model's radius of this class.
    Class {
        /// Urban (else rural).
        urban: bool,
    },
    /// This many metres.
    Metres(f64),
}

/// A candidate as given (CSV row or JSON entry), already projected to
/// EPSG:25832 by the caller (the engine has no projection library).
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateInput {
    /// `candidate_id`.
    pub id: String,
    /// Operator id (`telekom`, …); `None` = any operator would build it.
    pub operator: Option<String>,
    /// Easting, EPSG:25832 metres.
    pub x: f64,
    /// Northing, EPSG:25832 metres.
    pub y: f64,
    /// The technology the candidate would bring.
    pub technology: Technology,
    /// How its radius is found.
    pub radius: RadiusRule,
    /// Where it came from, for messages (`line 7`, `candidates[3]`).
    pub origin: String,
}

/// Where the candidates come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Candidates {
    /// Given ones (a CSV file, a request body).
    List(Vec<CandidateInput>),
    /// Generated: a square lattice of this spacing (metres) over the open
    /// cells, plus every existing site within reach that lacks the
    /// technology or belongs to another operator (sharing its mast).
    Lattice {
        /// Spacing in metres.
        spacing_m: f64,
    },
}

/// A plan request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    /// LTE or 5G.
    pub technology: Technology,
    /// What to maximise.
    pub objective: Objective,
    /// One operator's own gaps; `None` = dead spots (no operator).
    pub operator: Option<String>,
    /// AGS prefix: `05` state, 3 digits region, 5 district, 8 municipality.
    pub scope: String,
    /// How many sites to choose.
    pub budget: usize,
    /// Also count a grey cell (one known operator) that a candidate of
    /// another operator turns into two (any operator only).
    pub count_grey: bool,
    /// The candidates.
    pub candidates: Candidates,
    /// Refuse up front when the estimated run time is above this (ms).
    pub limit_ms: f64,
}

/// Why a plan cannot be made: every one a problem of the request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Budget 0.
    #[error("budget must be at least 1 site")]
    BudgetZero,
    /// More sites asked for than there are candidates.
    #[error("budget of {budget} sites is above the number of candidates that reach an open cell ({candidates})")]
    BudgetAboveCandidates {
        /// The budget.
        budget: usize,
        /// Usable candidates.
        candidates: usize,
    },
    /// An operator id the database does not know.
    #[error("{place}: unknown operator {operator:?} (known: {known})")]
    UnknownOperator {
        /// Where (request, candidate line …).
        place: String,
        /// The id given.
        operator: String,
        /// The known ids.
        known: String,
    },
    /// A scope that is no AGS prefix.
    #[error("scope {0:?} is not an AGS: 2 digits (state), 3 (region), 5 (district) or 8 (municipality)")]
    ScopeNotAgs(String),
    /// A well-formed scope without municipalities.
    #[error("scope {0} holds no municipality with grid cells")]
    ScopeEmpty(String),
    /// Two candidates with one id.
    #[error("duplicate candidate id {id:?} ({first} and {second})")]
    DuplicateId {
        /// The id.
        id: String,
        /// The first occurrence.
        first: String,
        /// The second.
        second: String,
    },
    /// A candidate outside every municipality of the grid.
    #[error("{origin}: candidate {id:?} at E {x:.0} N {y:.0} (EPSG:25832) lies outside the state (no grid cell there)")]
    OutsideState {
        /// Where.
        origin: String,
        /// Its id.
        id: String,
        /// Easting.
        x: f64,
        /// Northing.
        y: f64,
    },
    /// A radius out of range.
    #[error("{origin}: candidate {id:?}: radius_m {radius} must be a number above 0 and at most 50,000")]
    BadRadius {
        /// Where.
        origin: String,
        /// Its id.
        id: String,
        /// The radius.
        radius: f64,
    },
    /// A candidate of another technology or operator than asked.
    #[error("{origin}: candidate {id:?} is for {what}, the plan for {wanted}")]
    Mismatch {
        /// Where.
        origin: String,
        /// Its id.
        id: String,
        /// What it is.
        what: String,
        /// What the plan is.
        wanted: String,
    },
    /// A lattice spacing out of range.
    #[error("lattice spacing {0} m: must be between 100 and 50,000 m")]
    BadSpacing(f64),
    /// A mix weight out of range.
    #[error("objective weight {0}: must be between 0 and 1")]
    BadWeight(f64),
    /// Grey cells with one operator's gaps.
    #[error("counting grey cells turning to two operators needs the plan for any operator (no --operator)")]
    GreyWithOperator,
    /// Reported coverage only: new modelled sites would change nothing.
    #[error("the engine counts reported coverage only, where planned sites change nothing: plans need the modelled or union source")]
    ReportedOnly,
    /// No candidates at all.
    #[error("no candidates: the list is empty")]
    NoCandidates,
    /// Too slow: refused before running.
    #[error("the plan would take about {estimate_s:.1} s ({candidates} candidates, ~{cells} cell visits), above the limit of {limit_s:.1} s: narrow the scope, use fewer candidates or a wider lattice")]
    TooLong {
        /// Estimated seconds.
        estimate_s: f64,
        /// The limit.
        limit_s: f64,
        /// Candidates.
        candidates: usize,
        /// Estimated cell visits.
        cells: u64,
    },
}

/// One chosen site of a plan, with its marginal and cumulative gains.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chosen {
    /// 1-based rank in the greedy order.
    pub rank: usize,
    /// Candidate id (given, or `lattice:E…N…`, `share:SITE`, `upgrade:SITE`).
    pub id: String,
    /// Which operator would build it (`None`: any operator).
    pub operator: Option<String>,
    /// `given`, `lattice`, `share` or `upgrade`.
    pub kind: &'static str,
    /// Easting, EPSG:25832.
    pub x: f64,
    /// Northing, EPSG:25832.
    pub y: f64,
    /// Radius used, metres.
    pub radius_m: f64,
    /// Households newly covered by this site (marginal).
    pub households: f64,
    /// Open area newly closed by this site, km² (marginal).
    pub area_km2: f64,
    /// Open cells newly closed (marginal; grey cells included when counted).
    pub cells: u64,
    /// Of those, grey cells turned to two operators.
    pub grey_cells: u64,
    /// The objective's marginal gain (households, km² or the mix).
    pub gain: f64,
    /// Households covered by ranks 1..=rank.
    pub cumulative_households: f64,
    /// Area closed by ranks 1..=rank, km².
    pub cumulative_area_km2: f64,
    /// Objective reached by ranks 1..=rank.
    pub cumulative_gain: f64,
    /// `cumulative_gain` as a share of everything open (0..1).
    pub cumulative_share: f64,
}

/// The totals of a set of elements.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Totals {
    /// Households.
    pub households: f64,
    /// Cells (0.01 km² each).
    pub cells: u64,
    /// Area, km².
    pub area_km2: f64,
    /// Grey cells among them.
    pub grey_cells: u64,
    /// The objective's value.
    pub objective: f64,
}

/// A plan: the ranked sites and what they achieve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// `lte` or `5g`.
    pub technology: Technology,
    /// The objective.
    pub objective: Objective,
    /// One operator's gaps, or `None` for dead spots.
    pub operator: Option<String>,
    /// The AGS prefix.
    pub scope: String,
    /// The budget asked for.
    pub budget: usize,
    /// Grey cells counted.
    pub count_grey: bool,
    /// The coverage source the gaps are read from.
    pub source: CoverageSource,
    /// Candidates that reach an open cell (the others cannot be chosen).
    pub candidates: usize,
    /// Candidates given or generated in all.
    pub candidates_total: usize,
    /// Everything open in the scope.
    pub open: Totals,
    /// What all candidates together could close.
    pub reachable: Totals,
    /// The chosen sites in greedy order (fewer than the budget when nothing
    /// more can be closed).
    pub sites: Vec<Chosen>,
    /// Greedy sites needed for 50 %, 90 % and 100 % of everything open,
    /// where the candidates can get there (the greedy run continues past
    /// the budget to find out); `None` where they cannot.
    pub sites_for: [Option<usize>; 3],
    /// Time to prepare the elements and candidates, ms.
    pub prepare_ms: f64,
    /// Time of the greedy choice of the budget's sites, ms.
    pub greedy_ms: f64,
    /// Greedy time per chosen site, ms.
    pub ms_per_step: f64,
    /// Time of the greedy run continued past the budget for `sites_for`
    /// (to 100 % or until nothing more closes), ms; `greedy_ms` included.
    pub greedy_total_ms: f64,
    /// Marginal gains computed (first pass included).
    pub evaluations: usize,
    /// The estimate made before running, ms.
    pub estimate_ms: f64,
    /// Memory the planner allocated beside the engine's (element kinds,
    /// households, covered bits, candidates' runs, the heap), bytes.
    pub planner_bytes: usize,
}

/// Nanoseconds per cell visited by a gain evaluation, for the estimate
/// (measured on the NRW bench on a 2-core machine, with slack).
const NS_PER_CELL: f64 = 3.0;
/// Lazy steps re-evaluate a few candidates each; the first pass over all
/// candidates dominates. The greedy run past the budget (for the 50/90/100
/// % counts) is bounded the same way. This factor covers both.
const PASSES: f64 = 3.0;

/// What the planner reads from the engine.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The grid.
    pub grid: &'a Grid,
    /// The radii.
    pub model: &'a Model,
    /// Which coverage counts.
    pub source: CoverageSource,
    /// The existing sites (classified).
    pub sites: &'a [Site],
    /// Their stamped masks (scenario = actual | extra is the baseline).
    pub masks: &'a Masks,
    /// `(bit, id)` of every operator.
    pub operators: &'a [(u8, String)],
}

/// A candidate ready for the greedy run.
#[derive(Debug, Clone)]
struct Cand {
    id: String,
    operator: Option<String>,
    bit: Option<u8>,
    kind: &'static str,
    x: f64,
    y: f64,
    r: f64,
}

/// Parse and check a scope: digits only, 2/3/5/8 of them.
///
/// # Errors
/// [`PlanError::ScopeNotAgs`].
pub fn check_scope(scope: &str) -> Result<(), PlanError> {
    if matches!(scope.len(), 2 | 3 | 5 | 8) && scope.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PlanError::ScopeNotAgs(scope.to_owned()))
    }
}

/// Make a plan. Pure: reads the engine's state, writes nothing.
///
/// # Errors
/// A [`PlanError`] naming what is wrong with the request.
#[tracing::instrument(skip_all, fields(technology = %req.technology, objective = req.objective.name(), scope = %req.scope, budget = req.budget))]
pub fn plan(inp: Inputs<'_>, req: &PlanRequest) -> Result<Plan, PlanError> {
    let t0 = Instant::now();
    let Prepared { elements, cands, region, estimate_ms } = prepare(inp, req, t0)?;
    let grid = inp.grid;
    // Each candidate's runs over the scope's rectangle.
    let runs = greedy::Runs::build(cands.iter().map(|c| (c.x, c.y, c.r)), |x, y, r, f| disk_runs(grid, region, x, y, r, f));
    let bits: Vec<Option<u8>> = cands.iter().map(|c| c.bit).collect();
    let prepare_ms = t0.elapsed().as_secs_f64() * 1e3;

    let score = Score::new(req.objective, &elements.open);
    let t1 = Instant::now();
    let out = greedy::run(&elements, &runs, &bits, |g| score.of(g), req.budget)?;
    let greedy_ms = out.budget_ms;
    let _ = t1;
    let planner_bytes = elements.kind.capacity()
        + elements.households.capacity() * std::mem::size_of::<f32>()
        + elements.kind.len().div_ceil(8)
        + runs.bytes()
        + out.heap_bytes
        + cands.capacity() * std::mem::size_of::<Cand>();

    let mut sites = Vec::with_capacity(out.chosen.len());
    let (mut ch, mut ca, mut cg) = (0.0, 0.0, 0.0);
    for (rank, &(i, g)) in out.chosen.iter().enumerate() {
        let c = &cands[i];
        let gain = score.of(&g);
        ch += g.households;
        ca += g.area_km2();
        cg += gain;
        sites.push(Chosen {
            rank: rank + 1,
            id: c.id.clone(),
            operator: c.operator.clone(),
            kind: c.kind,
            x: c.x,
            y: c.y,
            radius_m: c.r,
            households: g.households,
            area_km2: g.area_km2(),
            cells: g.cells,
            grey_cells: g.grey,
            gain,
            cumulative_households: ch,
            cumulative_area_km2: ca,
            cumulative_gain: cg,
            cumulative_share: if score.total > 0.0 { cg / score.total } else { 0.0 },
        });
    }
    let totals = |g: &Gain| Totals { households: g.households, cells: g.cells, area_km2: g.area_km2(), grey_cells: g.grey, objective: score.of(g) };
    #[allow(clippy::cast_precision_loss)]
    let ms_per_step = if sites.is_empty() { 0.0 } else { greedy_ms / sites.len() as f64 };
    Ok(Plan {
        technology: req.technology,
        objective: req.objective,
        operator: req.operator.clone(),
        scope: req.scope.clone(),
        budget: req.budget,
        count_grey: req.count_grey,
        source: inp.source,
        candidates: out.usable,
        candidates_total: cands.len(),
        open: totals(&elements.open),
        reachable: totals(&out.reachable),
        sites,
        sites_for: out.sites_for(score.total, |g| score.of(g)),
        prepare_ms,
        greedy_ms,
        ms_per_step,
        greedy_total_ms: out.total_ms,
        evaluations: out.evaluations,
        estimate_ms,
        planner_bytes,
    })
}

/// A checked request: the open cells and the candidates with their radii.
struct Prepared {
    elements: Elements,
    cands: Vec<Cand>,
    region: Rect,
    estimate_ms: f64,
}

/// The candidates a plan would consider, with their radii (metres), in
/// the planner's order: for the PostGIS reference, which must judge the
/// same input.
///
/// # Errors
/// As [`plan`].
pub fn candidates(inp: Inputs<'_>, req: &PlanRequest) -> Result<Vec<(String, f64, f64, f64)>, PlanError> {
    let p = prepare(inp, req, Instant::now())?;
    Ok(p.cands.into_iter().map(|c| (c.id, c.x, c.y, c.r)).collect())
}

/// Check the request, find the open cells, make and check the candidates,
/// and refuse a run estimated above the limit.
fn prepare(inp: Inputs<'_>, req: &PlanRequest, t0: Instant) -> Result<Prepared, PlanError> {
    let grid = inp.grid;
    if req.budget == 0 {
        return Err(PlanError::BudgetZero);
    }
    if inp.source == CoverageSource::Reported {
        return Err(PlanError::ReportedOnly);
    }
    if let Objective::Mix { weight } = req.objective {
        if !(0.0..=1.0).contains(&weight) {
            return Err(PlanError::BadWeight(weight));
        }
    }
    check_scope(&req.scope)?;
    let known = || inp.operators.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>().join(", ");
    let bit_of = |place: &str, op: &str| -> Result<u8, PlanError> {
        inp.operators.iter().find(|(_, id)| id == op).map(|(b, _)| *b).ok_or_else(|| PlanError::UnknownOperator {
            place: place.to_owned(),
            operator: op.to_owned(),
            known: known(),
        })
    };
    let op_bit = req.operator.as_deref().map(|op| bit_of("request", op)).transpose()?;
    if op_bit.is_some() && req.count_grey {
        return Err(PlanError::GreyWithOperator);
    }
    let tech = usize::from(req.technology == TECHNOLOGIES[1]);
    let munis: Vec<bool> = grid.ags.iter().map(|a| a.starts_with(&req.scope)).collect();
    if !munis.iter().any(|&b| b) {
        return Err(PlanError::ScopeEmpty(req.scope.clone()));
    }
    let region = munis_rect(grid, &munis);
    let elements = elements(inp, tech, op_bit, req.count_grey, &munis, region);

    // The candidates, checked.
    let mut cands: Vec<Cand> = Vec::new();
    match &req.candidates {
        Candidates::List(list) => {
            if list.is_empty() {
                return Err(PlanError::NoCandidates);
            }
            let mut seen: HashMap<&str, &str> = HashMap::with_capacity(list.len());
            for c in list {
                if let Some(first) = seen.insert(&c.id, &c.origin) {
                    return Err(PlanError::DuplicateId { id: c.id.clone(), first: first.to_owned(), second: c.origin.clone() });
                }
                if c.technology != req.technology {
                    return Err(PlanError::Mismatch {
                        origin: c.origin.clone(),
                        id: c.id.clone(),
                        what: c.technology.to_string(),
                        wanted: req.technology.to_string(),
                    });
                }
                let bit = c.operator.as_deref().map(|op| bit_of(&c.origin, op)).transpose()?;
                if let (Some(want), Some(b)) = (op_bit, bit) {
                    if want != b {
                        return Err(PlanError::Mismatch {
                            origin: c.origin.clone(),
                            id: c.id.clone(),
                            what: format!("operator {}", c.operator.as_deref().unwrap_or("")),
                            wanted: format!("operator {}", req.operator.as_deref().unwrap_or("")),
                        });
                    }
                }
                let in_state = c.x.is_finite()
                    && c.y.is_finite()
                    && cell_of(grid, c.x, c.y).and_then(|(n, e)| grid.slot(n, e)).is_some_and(|s| grid.muni[s] != NO_MUNI);
                if !in_state {
                    return Err(PlanError::OutsideState { origin: c.origin.clone(), id: c.id.clone(), x: c.x, y: c.y });
                }
                let r = match c.radius {
                    RadiusRule::Metres(r) => {
                        if !(r.is_finite() && r > 0.0 && r <= 50_000.0) {
                            return Err(PlanError::BadRadius { origin: c.origin.clone(), id: c.id.clone(), radius: r });
                        }
                        r
                    }
                    RadiusRule::Class { urban } => inp.model.radius_m[tech][usize::from(urban)],
                    RadiusRule::Model => inp.model.radius_m[tech][usize::from(is_urban(grid, inp.model, c.x, c.y))],
                };
                // In one operator's plan, a candidate without operator is
                // built by that operator.
                let (operator, bit) = match (bit, op_bit) {
                    (None, Some(b)) => (req.operator.clone(), Some(b)),
                    _ => (c.operator.clone(), bit),
                };
                cands.push(Cand { id: c.id.clone(), operator, bit, kind: "given", x: c.x, y: c.y, r });
            }
        }
        Candidates::Lattice { spacing_m } => {
            let s = *spacing_m;
            if !(s.is_finite() && (100.0..=50_000.0).contains(&s)) {
                return Err(PlanError::BadSpacing(s));
            }
            generate(inp, tech, op_bit, req.operator.as_deref(), &elements, region, s, &mut cands);
        }
    }

    // The estimate, before any disk is walked.
    #[allow(clippy::cast_precision_loss)]
    let cells_est: f64 = cands.iter().map(|c| std::f64::consts::PI * c.r * c.r / 1e4).sum::<f64>() * PASSES;
    #[allow(clippy::cast_precision_loss)]
    let estimate_ms = cells_est * NS_PER_CELL / 1e6 / threads() as f64 + t0.elapsed().as_secs_f64() * 1e3;
    if estimate_ms > req.limit_ms {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Err(PlanError::TooLong {
            estimate_s: estimate_ms / 1e3,
            limit_s: req.limit_ms / 1e3,
            candidates: cands.len(),
            cells: cells_est as u64,
        });
    }
    Ok(Prepared { elements, cands, region, estimate_ms })

}

/// The objective's value of a gain.
#[derive(Debug, Clone, Copy)]
struct Score {
    objective: Objective,
    /// Households and cells open, for the mix's normalisation.
    hh: f64,
    cells: f64,
    /// The value of everything open.
    total: f64,
}

impl Score {
    fn new(objective: Objective, open: &Gain) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let mut s = Self { objective, hh: open.households, cells: open.cells as f64, total: 0.0 };
        s.total = s.of(open);
        s
    }

    fn of(&self, g: &Gain) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let cells = g.cells as f64;
        match self.objective {
            Objective::Households => g.households,
            Objective::Area => g.area_km2(),
            Objective::Mix { weight } => {
                let h = if self.hh > 0.0 { g.households / self.hh } else { 0.0 };
                let a = if self.cells > 0.0 { cells / self.cells } else { 0.0 };
                weight * h + (1.0 - weight) * a
            }
        }
    }
}

/// The cell `(n, e)` (hectometres) holding point `(x, y)`.
fn cell_of(_grid: &Grid, x: f64, y: f64) -> Option<(i32, i32)> {
    let n = (y / 100.0).floor();
    let e = (x / 100.0).floor();
    if n.abs() > 1e9 || e.abs() > 1e9 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    Some((n as i32, e as i32))
}

/// The open cells of the scope: per slot 0 (not open), [`greedy::OPEN`]
/// or [`greedy::GREY`] + the one operator's bit.
fn elements(inp: Inputs<'_>, tech: usize, op_bit: Option<u8>, count_grey: bool, munis: &[bool], region: Rect) -> Elements {
    let grid = inp.grid;
    let mut kind = vec![0u8; grid.slots()];
    let mut open = Gain::default();
    for row in region.r0..region.r1 {
        let (a, b) = grid.row_span(row);
        let base = row * grid.cols;
        for c in a.max(region.c0)..b.min(region.c1) {
            let slot = base + c;
            let m = grid.muni[slot];
            if m == NO_MUNI || !munis[usize::from(m)] {
                continue;
            }
            let (rc, rm) = grid.reported[tech].at(slot);
            let modelled: Mask = inp.masks.actual[tech][slot] | inp.masks.extra[tech][slot];
            let (count, set) = combine(inp.source, rc, rm, modelled);
            let k = match op_bit {
                // One operator's gaps: not in the known set; where the set
                // is unknown, only a cell no operator covers is surely a gap.
                Some(b) => match set {
                    Some(s) if s & (1 << b) == 0 => greedy::OPEN,
                    None if count == 0 => greedy::OPEN,
                    _ => 0,
                },
                None if count == 0 => greedy::OPEN,
                // Grey with a known operator: a second one counts.
                None if count_grey && count == 1 => match set {
                    Some(s) if s != UNKNOWN && s.count_ones() == 1 => {
                        #[allow(clippy::cast_possible_truncation)]
                        let b = s.trailing_zeros() as u8;
                        greedy::GREY + b
                    }
                    _ => 0,
                },
                None => 0,
            };
            if k != 0 {
                kind[slot] = k;
                open.add(f64::from(grid.households[slot]), k >= greedy::GREY);
            }
        }
    }
    Elements { kind, households: grid.households.clone(), open, cols: grid.cols }
}

/// The generated candidates: lattice points whose square holds an open
/// cell, and existing sites that could take the technology (sharing).
#[allow(clippy::too_many_arguments)]
fn generate(inp: Inputs<'_>, tech: usize, op_bit: Option<u8>, operator: Option<&str>, el: &Elements, region: Rect, s: f64, out: &mut Vec<Cand>) {
    let grid = inp.grid;
    let radius = |x: f64, y: f64| inp.model.radius_m[tech][usize::from(is_urban(grid, inp.model, x, y))];
    // Lattice points: multiples of the spacing; a point is kept when an
    // open cell's centre lies in its square and the point itself lies in
    // a grid cell (in the state).
    let mut keys: Vec<(i64, i64)> = Vec::new();
    for row in region.r0..region.r1 {
        let base = row * grid.cols;
        let (a, b) = grid.row_span(row);
        for c in a.max(region.c0)..b.min(region.c1) {
            if el.kind[base + c] == 0 {
                continue;
            }
            #[allow(clippy::cast_precision_loss)]
            let (x, y) = ((i64::from(grid.e0) + c as i64) as f64 * 100.0 + 50.0, (i64::from(grid.n0) + row as i64) as f64 * 100.0 + 50.0);
            #[allow(clippy::cast_possible_truncation)]
            keys.push(((y / s).round() as i64, (x / s).round() as i64));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    for (j, i) in keys {
        #[allow(clippy::cast_precision_loss)]
        let (x, y) = (i as f64 * s, j as f64 * s);
        let inside = cell_of(grid, x, y).and_then(|(n, e)| grid.slot(n, e)).is_some_and(|slot| grid.muni[slot] != NO_MUNI);
        if !inside {
            continue;
        }
        out.push(Cand {
            id: format!("lattice:E{x:.0}N{y:.0}"),
            operator: operator.map(str::to_owned),
            bit: op_bit,
            kind: "lattice",
            x,
            y,
            r: radius(x, y),
        });
    }
    // Existing sites within reach of the scope: another operator's mast to
    // share (one operator's plan), or a site without the technology yet.
    let reach = inp.model.radius_m[tech][0].max(inp.model.radius_m[tech][1]);
    let rect = |x: f64, y: f64| Rect::around(grid, x, y, reach);
    for site in inp.sites {
        let r = rect(site.x, site.y);
        let near = r.r0 < region.r1 && region.r0 < r.r1 && r.c0 < region.c1 && region.c0 < r.c1;
        if !near {
            continue;
        }
        let has = site.scenario[tech] || site.on_air[tech];
        let rr = inp.model.radius_m[tech][usize::from(site.urban)];
        match op_bit {
            Some(b) if site.bit != b => out.push(Cand {
                id: format!("share:{}", site.id),
                operator: operator.map(str::to_owned),
                bit: Some(b),
                kind: "share",
                x: site.x,
                y: site.y,
                r: rr,
            }),
            _ if !has => {
                let op = inp.operators.iter().find(|(b, _)| *b == site.bit).map(|(_, id)| id.clone());
                out.push(Cand { id: format!("upgrade:{}", site.id), operator: op, bit: Some(site.bit), kind: "upgrade", x: site.x, y: site.y, r: rr });
            }
            _ => {}
        }
    }
}
