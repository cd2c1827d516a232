//! The lazy greedy (CELF) over candidates' disk runs, with exact marginal
//! gains on the grid. See the module above for why greedy and why lazy.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::PlanError;
use crate::engine::threads;

/// Element kind of a slot: open (dead, or the operator's gap).
pub(super) const OPEN: u8 = 1;
/// Element kind of a slot: grey with one known operator, `GREY + bit`.
pub(super) const GREY: u8 = 2;

/// One bit per slot.
#[derive(Debug, Clone)]
pub struct Bits(Vec<u64>);

impl Bits {
    /// All clear, for `n` slots.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }
    /// Whether slot `i` is set.
    #[inline]
    #[must_use]
    pub fn get(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
    /// Set slot `i`.
    #[inline]
    pub fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
}

/// The open cells (elements) of a plan.
#[derive(Debug, Clone)]
pub struct Elements {
    /// Per slot: 0 (no element), [`OPEN`] or [`GREY`] + bit.
    pub kind: Vec<u8>,
    /// Households per slot (the grid's).
    pub households: Vec<f32>,
    /// The totals of all elements.
    pub open: Gain,
    /// Columns of the grid (slot = row × cols + column).
    pub cols: usize,
}

/// A gain (or a total): households, cells, grey cells among them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gain {
    /// Households.
    pub households: f64,
    /// Cells.
    pub cells: u64,
    /// Grey cells among `cells`.
    pub grey: u64,
}

impl Gain {
    /// Count one element.
    #[inline]
    pub fn add(&mut self, households: f64, grey: bool) {
        self.households += households;
        self.cells += 1;
        self.grey += u64::from(grey);
    }
    /// Cells as km² (a cell is 0.01 km²).
    #[must_use]
    pub fn area_km2(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let c = self.cells as f64;
        c * 0.01
    }
    fn plus(mut self, o: &Self) -> Self {
        self.households += o.households;
        self.cells += o.cells;
        self.grey += o.grey;
        self
    }
}

/// Each candidate's covered cells as row runs `(row, lo, hi)` (inclusive
/// columns), flat with offsets.
#[derive(Debug, Clone, Default)]
pub(super) struct Runs {
    runs: Vec<(u32, u32, u32)>,
    start: Vec<usize>,
}

impl Runs {
    /// Runs of each `(x, y, r)` as `disk` (the engine's disk runs) gives them.
    pub(super) fn build(disks: impl Iterator<Item = (f64, f64, f64)>, mut disk: impl FnMut(f64, f64, f64, &mut dyn FnMut(usize, usize, usize))) -> Self {
        let mut out = Self { runs: Vec::new(), start: vec![0] };
        for (x, y, r) in disks {
            disk(x, y, r, &mut |row, lo, hi| {
                #[allow(clippy::cast_possible_truncation)] // rows and columns < 2^31
                out.runs.push((row as u32, lo as u32, hi as u32));
            });
            out.start.push(out.runs.len());
        }
        out
    }

    fn of(&self, i: usize) -> &[(u32, u32, u32)] {
        &self.runs[self.start[i]..self.start[i + 1]]
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<(u32, u32, u32)>() + self.start.capacity() * std::mem::size_of::<usize>()
    }
}

/// Whether an element of kind `k` counts for a candidate of operator `bit`.
#[inline(always)]
fn counts(k: u8, bit: Option<u8>) -> bool {
    k == OPEN || (k >= GREY && bit.is_some_and(|b| k != GREY + b))
}

/// Calls `f` with every slot a candidate covers that counts for it and
/// that `done` does not hold yet: the one loop behind [`peek`] and
/// [`take`], so the gain the heap ranks by and the gain marked as covered
/// can never be counted differently.
#[inline]
fn for_each_fresh(
    el: &Elements,
    cols: usize,
    runs: &[(u32, u32, u32)],
    bit: Option<u8>,
    done: &Bits,
    mut f: impl FnMut(usize),
) {
    for &(row, lo, hi) in runs {
        let base = row as usize * cols;
        for slot in base + lo as usize..=base + hi as usize {
            let k = el.kind[slot];
            if k != 0 && !done.get(slot) && counts(k, bit) {
                f(slot);
            }
        }
    }
}

/// The marginal gain of a candidate: the elements it covers that `done`
/// does not hold yet.
#[inline]
fn peek(el: &Elements, cols: usize, runs: &[(u32, u32, u32)], bit: Option<u8>, done: &Bits) -> Gain {
    let mut g = Gain::default();
    for_each_fresh(el, cols, runs, bit, done, |slot| {
        g.add(f64::from(el.households[slot]), el.kind[slot] >= GREY)
    });
    g
}

/// [`peek`], and the elements counted are added to `done`: the greedy
/// choice of a round.
fn take(
    el: &Elements,
    cols: usize,
    runs: &[(u32, u32, u32)],
    bit: Option<u8>,
    done: &mut Bits,
) -> Gain {
    let mut g = Gain::default();
    let mut slots = Vec::new();
    for_each_fresh(el, cols, runs, bit, done, |slot| {
        g.add(f64::from(el.households[slot]), el.kind[slot] >= GREY);
        slots.push(slot);
    });
    for slot in slots {
        done.set(slot);
    }
    g
}

/// A heap entry: a candidate's last computed gain and when.
#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f64,
    idx: usize,
    /// Number of sites chosen when the gain was computed.
    round: usize,
    gain: Gain,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Larger score first; on equal scores the earlier candidate.
    fn cmp(&self, o: &Self) -> Ordering {
        self.score.total_cmp(&o.score).then_with(|| o.idx.cmp(&self.idx))
    }
}

/// What the greedy run found.
#[derive(Debug, Clone, Default)]
pub(super) struct Outcome {
    /// The budget's sites in greedy order with their marginal gains.
    pub chosen: Vec<(usize, Gain)>,
    /// Marginal gains of the run continued past the budget (for the
    /// 50/90/100 % counts), the budget's first.
    pub curve: Vec<Gain>,
    /// Candidates that cover at least one element.
    pub usable: usize,
    /// What all candidates together cover.
    pub reachable: Gain,
    /// Gains computed.
    pub evaluations: usize,
    /// Time of the first pass and the budget's steps, ms.
    pub budget_ms: f64,
    /// Bytes of the heap and the first pass's gains.
    pub heap_bytes: usize,
    /// Time of the whole run, the continuation past the budget included, ms.
    pub total_ms: f64,
}

impl Outcome {
    /// Sites needed for 50 / 90 / 100 % of `total` along the curve.
    pub(super) fn sites_for(&self, total: f64, score: impl Fn(&Gain) -> f64) -> [Option<usize>; 3] {
        let mut out = [None; 3];
        if total <= 0.0 {
            return out;
        }
        let mut cum = 0.0;
        for (n, g) in self.curve.iter().enumerate() {
            cum += score(g);
            for (o, f) in out.iter_mut().zip([0.5, 0.9, 1.0]) {
                // A relative slack for the sum's rounding at 100 %.
                if o.is_none() && cum >= f * total * (1.0 - 1e-12) {
                    *o = Some(n + 1);
                }
            }
        }
        out
    }
}

/// Lazy greedy over `runs` (one per candidate, operator bits `bits`) for
/// `budget` sites, continued past the budget until the gains run out or
/// all of `el.open` is covered.
///
/// # Errors
/// [`PlanError::BudgetAboveCandidates`] when fewer candidates than the
/// budget cover anything.
pub(super) fn run(el: &Elements, runs: &Runs, bits: &[Option<u8>], score: impl Fn(&Gain) -> f64, budget: usize) -> Result<Outcome, PlanError> {
    let t0 = Instant::now();
    let n = runs.len();
    let cols = el.cols;
    let mut done = Bits::new(el.kind.len());
    // First pass: every candidate's gain, split over threads.
    let mut first = vec![Gain::default(); n];
    let per = n.div_ceil(threads()).max(64);
    std::thread::scope(|s| {
        for (k, part) in first.chunks_mut(per).enumerate() {
            let done = &done;
            s.spawn(move || {
                for (j, g) in part.iter_mut().enumerate() {
                    let i = k * per + j;
                    *g = peek(el, cols, runs.of(i), bits[i], done);
                }
            });
        }
    });
    let mut out = Outcome { evaluations: n, ..Outcome::default() };
    out.usable = first.iter().filter(|g| g.cells > 0).count();
    if budget > out.usable {
        return Err(PlanError::BudgetAboveCandidates { budget, candidates: out.usable });
    }
    let mut heap: BinaryHeap<Entry> =
        first.iter().enumerate().filter(|(_, g)| g.cells > 0).map(|(idx, g)| Entry { score: score(g), idx, round: 0, gain: *g }).collect();
    out.heap_bytes = heap.capacity() * std::mem::size_of::<Entry>() + first.capacity() * std::mem::size_of::<Gain>();
    let mut cum = Gain::default();
    while let Some(top) = heap.pop() {
        let round = out.curve.len();
        if top.round != round {
            let g = peek(el, cols, runs.of(top.idx), bits[top.idx], &done);
            out.evaluations += 1;
            if g.cells > 0 {
                heap.push(Entry { score: score(&g), idx: top.idx, round, gain: g });
            }
            continue;
        }
        // Current: the greedy choice. Its gain is marked as covered.
        let g = take(el, cols, runs.of(top.idx), bits[top.idx], &mut done);
        debug_assert_eq!(g, top.gain);
        cum = cum.plus(&g);
        out.curve.push(g);
        if round < budget {
            out.chosen.push((top.idx, g));
            if round + 1 == budget {
                out.budget_ms = t0.elapsed().as_secs_f64() * 1e3;
            }
        }
        // Every element covered: nothing left to gain.
        if cum.cells >= el.open.cells && round + 1 >= budget {
            break;
        }
    }
    if out.chosen.len() < budget {
        out.budget_ms = t0.elapsed().as_secs_f64() * 1e3;
    }
    out.total_ms = t0.elapsed().as_secs_f64() * 1e3;
    // Whatever is left in the heap covers nothing new (or the open set is
    // covered): the run's total is what all candidates can reach.
    out.reachable = cum;
    if !heap.is_empty() {
        // Stopped at 100 %: everything open is reachable.
        out.reachable = el.open;
    }
    Ok(out)
}
