//! The `coverage` layer: the engine's 100 m cells as MVT polygons.
//!
//! From [`CELL_ZOOM`] on, one feature per grid cell (its four corners
//! projected from EPSG:25832, so the squares sit where the regulator's grid
//! puts them) with the number of operators per technology and, where the
//! operator set is known, which. Below, a cell is less than four pixels
//! wide: the cells are summed into square blocks of `2^(12 − z)` cells
//! (aligned to the grid), each with its cells, households and, per
//! technology, households covered, cells covered, dead (0 operators) and
//! grey (1 operator) cells — the household-weighted share is
//! `households_covered / households`, the same sums the municipality
//! figures are made of, so a block's numbers add up to the engine's.
//!
//! A feature belongs to every tile its projected square's bounding box
//! overlaps (as `ST_AsMVT` behind a `&&` test would have it); a square
//! crossing a tile edge is in both tiles, unclipped (MVT coordinates may
//! leave the extent; renderers clip), so no seam opens between tiles.
//!
//! Feature ids: `n · 100000 + e` of the square's south-west corner in
//! hectometres — for a cell, its id `100mN{n}E{e}`.

use fast_mvt::{MvtCoord, MvtExtent, MvtFeatureBuilder, MvtGeomType, MvtLayerBuilder, MvtValueRef};

use crate::tile::{utm_to_merc, CellRect, MercBox, TileId};
use crate::Error;

/// The zoom from which cells are single features.
pub const CELL_ZOOM: u8 = 12;
/// The MVT extent (units per tile edge).
pub const EXTENT: u32 = 4096;
/// The layer's name.
pub const LAYER: &str = "coverage";

/// One grid cell's coverage as the engine has it for the view asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Northing of the south-west corner (hm).
    pub n: i32,
    /// Easting of the south-west corner (hm).
    pub e: i32,
    /// Households in the cell.
    pub households: f32,
    /// Operators covering the cell, LTE and 5G.
    pub count: [u8; 2],
    /// Which operators (bit set), LTE and 5G, where known.
    pub set: [Option<u16>; 2],
}

/// One technology's sums over a block.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BlockTech {
    /// Households in cells covered by at least one operator.
    pub households_covered: f64,
    /// Cells covered by at least one operator.
    pub cells_covered: u32,
    /// Cells with no operator.
    pub dead: u32,
    /// Cells with exactly one operator.
    pub grey: u32,
}

/// A square block of `size × size` cells with its sums (only blocks with
/// grid cells exist).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Block {
    /// Northing of the south-west corner (hm), a multiple of `size`.
    pub n: i32,
    /// Easting of the south-west corner (hm), a multiple of `size`.
    pub e: i32,
    /// Edge length in cells.
    pub size: i32,
    /// Grid cells in the block.
    pub cells: u32,
    /// Households in the block.
    pub households: f64,
    /// LTE and 5G.
    pub tech: [BlockTech; 2],
}

/// The block edge (cells) at zoom `z`: 1 from [`CELL_ZOOM`] on.
#[must_use]
pub fn block_size(z: u8) -> i32 {
    if z >= CELL_ZOOM {
        1
    } else {
        1 << (CELL_ZOOM - z)
    }
}

/// The cells to ask the engine for to draw tile `t`: the tile's cell
/// rectangle, widened to whole blocks of [`block_size`].
#[must_use]
pub fn request_rect(t: &TileId) -> CellRect {
    let s = block_size(t.z);
    let r = t.cell_rect(1);
    let down = |v: i32| v.div_euclid(s) * s;
    let up = |v: i32| (v + s - 1).div_euclid(s) * s;
    CellRect { n0: down(r.n0), n1: up(r.n1), e0: down(r.e0), e1: up(r.e1) }
}

/// Projected corners of squares of one size, each corner projected once
/// (neighbouring squares share three of four).
struct Corners {
    n0: i32,
    e0: i32,
    size: i32,
    cols: usize,
    rows: usize,
    pts: Vec<Option<(f64, f64)>>,
}

impl Corners {
    fn new(r: CellRect, size: i32) -> Self {
        let cols = usize::try_from((r.e1 - r.e0) / size + 2).unwrap_or(0);
        let rows = usize::try_from((r.n1 - r.n0) / size + 2).unwrap_or(0);
        let slots = rows.saturating_mul(cols);
        // A tile's lattice is at most ~100 × 100 corners; refuse to
        // allocate for a rectangle that is no tile's.
        let pts = if slots <= 1 << 20 { vec![None; slots] } else { Vec::new() };
        Self { n0: r.n0, e0: r.e0, size, cols, rows, pts }
    }

    /// Web Mercator position of the lattice corner at (`n`, `e`) hm.
    fn at(&mut self, n: i32, e: i32) -> (f64, f64) {
        let project = || utm_to_merc(f64::from(e) * 100.0, f64::from(n) * 100.0);
        let (dn, de) = (n - self.n0, e - self.e0);
        if dn < 0 || de < 0 || dn % self.size != 0 || de % self.size != 0 {
            return project();
        }
        let (r, c) = (usize::try_from(dn / self.size).unwrap_or(usize::MAX), usize::try_from(de / self.size).unwrap_or(usize::MAX));
        if r >= self.rows || c >= self.cols || self.pts.is_empty() {
            return project();
        }
        *self.pts[r * self.cols + c].get_or_insert_with(project)
    }

    /// The square at (`n`, `e`) hm as [SW, NW, NE, SE] in Web Mercator.
    fn square(&mut self, n: i32, e: i32) -> [(f64, f64); 4] {
        let s = self.size;
        [self.at(n, e), self.at(n + s, e), self.at(n + s, e + s), self.at(n, e + s)]
    }
}

/// Encodes squares into one MVT layer.
struct Squares {
    layer: Option<MvtLayerBuilder>,
    bounds: MercBox,
    features: usize,
}

impl Squares {
    fn new(t: &TileId) -> Result<Self, Error> {
        let mut layer = MvtLayerBuilder::new(LAYER)?;
        layer.extent(MvtExtent::new(EXTENT).ok_or_else(|| Error::Encode("extent 0".into()))?);
        Ok(Self { layer: Some(layer), bounds: t.bounds(), features: 0 })
    }

    /// Add the square `q` ([SW, NW, NE, SE]) when its bounding box overlaps
    /// the tile; `tags` sets the feature's properties.
    fn add(&mut self, q: [(f64, f64); 4], id: Option<u64>, tags: impl FnOnce(&mut Props<'_>) -> Result<(), Error>) -> Result<(), Error> {
        let bb = q.iter().fold(MercBox { minx: f64::MAX, miny: f64::MAX, maxx: f64::MIN, maxy: f64::MIN }, |b, &(x, y)| MercBox {
            minx: b.minx.min(x),
            miny: b.miny.min(y),
            maxx: b.maxx.max(x),
            maxy: b.maxy.max(y),
        });
        if !bb.overlaps(&self.bounds) {
            return Ok(());
        }
        let b = self.bounds;
        let k = f64::from(EXTENT) / (b.maxx - b.minx);
        #[allow(clippy::cast_possible_truncation)] // within a few tiles of this one
        let px = |(x, y): (f64, f64)| MvtCoord { x: ((x - b.minx) * k).round() as i32, y: ((b.maxy - y) * k).round() as i32 };
        // SW, NW, NE, SE: clockwise on screen (y down), an exterior ring
        // with positive area as MVT 2.1 §4.3.4.4 wants.
        let layer = self.layer.take().ok_or_else(|| Error::Encode("layer taken twice".into()))?;
        let mut f = layer.feature_of(MvtGeomType::Polygon);
        f.ring(q.map(px), true)?;
        f.id(id);
        tags(&mut Props(&mut f))?;
        self.layer = Some(f.end());
        self.features += 1;
        Ok(())
    }

    /// The encoded tile; `None` when no feature fell into it.
    fn finish(mut self) -> Result<Option<Vec<u8>>, Error> {
        if self.features == 0 {
            return Ok(None);
        }
        let layer = self.layer.take().ok_or_else(|| Error::Encode("no layer".into()))?;
        Ok(Some(layer.encode()))
    }
}

/// A feature's properties as they are added (borrowed keys and values: a
/// key or value the layer has already costs no allocation).
struct Props<'a>(&'a mut MvtFeatureBuilder);

impl Props<'_> {
    fn uint(&mut self, key: &str, v: u64) -> Result<(), Error> {
        self.0.tag_ref(key, MvtValueRef::UInt(v))?;
        Ok(())
    }
    fn float(&mut self, key: &str, v: f32) -> Result<(), Error> {
        self.0.tag_ref(key, MvtValueRef::Float(v))?;
        Ok(())
    }
    fn double(&mut self, key: &str, v: f64) -> Result<(), Error> {
        self.0.tag_ref(key, MvtValueRef::Double(v))?;
        Ok(())
    }
    fn string(&mut self, key: &str, v: &str) -> Result<(), Error> {
        self.0.tag_ref(key, MvtValueRef::String(v))?;
        Ok(())
    }
}

/// A feature id from a square's corner (hm), for squares in the positive
/// quadrant (all of Germany).
fn square_id(n: i32, e: i32) -> Option<u64> {
    let (n, e) = (u64::try_from(n).ok()?, u64::try_from(e).ok()?);
    (e < 100_000).then(|| n * 100_000 + e)
}

/// The operator ids of a set, comma-separated in the order of `operators`
/// (bit, id).
fn names(set: u16, operators: &[(u8, String)]) -> String {
    let mut s = String::new();
    for (bit, id) in operators {
        if *bit < 16 && set & (1 << bit) != 0 {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(id);
        }
    }
    s
}

/// The `names` of every operator set, made once per tile instead of once
/// per cell and technology (a z 12 tile has ~4,000 cells): sets of the
/// first [`OpNames::BITS`] bits are kept, the rare others made on demand.
struct OpNames<'a> {
    operators: &'a [(u8, String)],
    by_set: Vec<Option<String>>,
}

impl<'a> OpNames<'a> {
    /// Operator bits whose sets are kept (256 strings at most).
    const BITS: u32 = 8;

    fn new(operators: &'a [(u8, String)]) -> Self {
        Self { operators, by_set: vec![None; 1 << Self::BITS] }
    }

    fn get(&mut self, set: u16) -> std::borrow::Cow<'_, str> {
        let ops = self.operators;
        match self.by_set.get_mut(usize::from(set)) {
            Some(slot) => std::borrow::Cow::Borrowed(slot.get_or_insert_with(|| names(set, ops)).as_str()),
            None => std::borrow::Cow::Owned(names(set, ops)),
        }
    }
}

/// Property names per technology (engine order LTE, 5G): the count, the
/// operator ids, and the block sums below [`CELL_ZOOM`]. Spelled out rather
/// than formatted per feature (a tile has thousands).
const TECH: [&str; 2] = ["lte", "5g"];
const TECH_OPS: [&str; 2] = ["lte_ops", "5g_ops"];
const TECH_HH_COVERED: [&str; 2] = ["lte_households_covered", "5g_households_covered"];
const TECH_HH_SHARE: [&str; 2] = ["lte_household_share", "5g_household_share"];
const TECH_CELLS_COVERED: [&str; 2] = ["lte_cells_covered", "5g_cells_covered"];
const TECH_DEAD: [&str; 2] = ["lte_dead_cells", "5g_dead_cells"];
const TECH_GREY: [&str; 2] = ["lte_grey_cells", "5g_grey_cells"];

/// The coverage tile `t` from the cells of [`request_rect`] (z ≥
/// [`CELL_ZOOM`]): properties `lte`, `5g` (operator counts), `lte_ops`,
/// `5g_ops` (operator ids, where the set is known), `households`.
/// `None` when no cell touches the tile (the API answers 204).
///
/// # Errors
/// When the encoder refuses a geometry (a bug, not an input error).
pub fn encode_cells(t: &TileId, rect: CellRect, cells: &[Cell], operators: &[(u8, String)]) -> Result<Option<Vec<u8>>, Error> {
    let mut corners = Corners::new(rect, 1);
    let mut out = Squares::new(t)?;
    let mut ops = OpNames::new(operators);
    for c in cells {
        let q = corners.square(c.n, c.e);
        out.add(q, square_id(c.n, c.e), |f| {
            for (i, name) in TECH.iter().enumerate() {
                f.uint(name, u64::from(c.count[i]))?;
                if let Some(set) = c.set[i] {
                    f.string(TECH_OPS[i], &ops.get(set))?;
                }
            }
            f.float("households", c.households)
        })?;
    }
    out.finish()
}

/// The coverage tile `t` below [`CELL_ZOOM`] from the blocks of
/// [`request_rect`]: properties `block_m` (edge in metres), `cells`,
/// `households`, and per technology (`lte_`, `5g_`) `households_covered`,
/// `household_share` (when the block has households), `cells_covered`,
/// `dead_cells`, `grey_cells`. `None` when no block touches the tile.
///
/// # Errors
/// When the encoder refuses a geometry.
pub fn encode_blocks(t: &TileId, rect: CellRect, blocks: &[Block]) -> Result<Option<Vec<u8>>, Error> {
    let size = block_size(t.z);
    let mut corners = Corners::new(rect, size);
    let mut out = Squares::new(t)?;
    for b in blocks {
        if b.size != size {
            return Err(Error::Encode(format!("a block of {} cells for zoom {} (blocks of {size} expected)", b.size, t.z)));
        }
        let q = corners.square(b.n, b.e);
        out.add(q, square_id(b.n, b.e), |f| {
            f.uint("block_m", u64::try_from(size).unwrap_or(0) * 100)?;
            f.uint("cells", u64::from(b.cells))?;
            f.double("households", b.households)?;
            for (i, x) in b.tech.iter().enumerate() {
                f.double(TECH_HH_COVERED[i], x.households_covered)?;
                if b.households > 0.0 {
                    f.double(TECH_HH_SHARE[i], x.households_covered / b.households)?;
                }
                f.uint(TECH_CELLS_COVERED[i], u64::from(x.cells_covered))?;
                f.uint(TECH_DEAD[i], u64::from(x.dead))?;
                f.uint(TECH_GREY[i], u64::from(x.grey))?;
            }
            Ok(())
        })?;
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tile::{tile_at, utm_to_merc};
    use mvt_reader::feature::Value;
    use proptest::prelude::*;

    /// A tile at z over the cell (n, e) hm.
    fn tile_over(z: u8, n: i32, e: i32) -> TileId {
        let (x, y) = utm_to_merc(f64::from(e) * 100.0 + 50.0, f64::from(n) * 100.0 + 50.0);
        tile_at(z, x, y)
    }

    fn decode(bytes: Vec<u8>) -> Vec<mvt_reader::feature::Feature> {
        let r = mvt_reader::Reader::new(bytes).expect("a valid tile");
        assert_eq!(r.get_layer_names().expect("names"), vec![LAYER.to_owned()]);
        r.get_features(0).expect("features")
    }

    proptest! {
        /// Every cell of the request whose square overlaps the tile comes
        /// back once, with its id, counts and operators; each square is a
        /// valid MVT exterior ring (four corners, positive area in tile
        /// coordinates, i.e. clockwise on screen).
        #[test]
        fn cells_decode_to_what_was_encoded(z in 12u8..16, dn in -40i32..40, de in -40i32..40, seed in any::<u64>()) {
            let t = tile_over(z, 56_770 + dn, 3_400 + de);
            let rect = request_rect(&t);
            let ops = vec![(0u8, "telekom".to_owned()), (1, "vodafone".to_owned()), (2, "telefonica".to_owned())];
            let mut cells = Vec::new();
            let mut k = seed;
            for n in rect.n0..rect.n1 {
                for e in rect.e0..rect.e1 {
                    k = k.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    let set = (k >> 33) as u16 & 7;
                    let known = (k >> 40) & 1 == 0;
                    cells.push(Cell { n, e, households: (k >> 50) as f32 / 1000.0, count: [set.count_ones() as u8, 2], set: [known.then_some(set), None] });
                }
            }
            let b = t.bounds();
            let inside: Vec<&Cell> = cells.iter().filter(|c| {
                let q = [(c.n, c.e), (c.n + 1, c.e), (c.n + 1, c.e + 1), (c.n, c.e + 1)].map(|(n, e)| utm_to_merc(f64::from(e) * 100.0, f64::from(n) * 100.0));
                let (x0, x1) = (q.iter().map(|p| p.0).fold(f64::MAX, f64::min), q.iter().map(|p| p.0).fold(f64::MIN, f64::max));
                let (y0, y1) = (q.iter().map(|p| p.1).fold(f64::MAX, f64::min), q.iter().map(|p| p.1).fold(f64::MIN, f64::max));
                x0 < b.maxx && x1 > b.minx && y0 < b.maxy && y1 > b.miny
            }).collect();
            let bytes = encode_cells(&t, rect, &cells, &ops).expect("encodes").expect("cells in the tile");
            let fs = decode(bytes);
            prop_assert_eq!(fs.len(), inside.len());
            for (f, c) in fs.iter().zip(&inside) {
                prop_assert_eq!(f.id, Some(u64::try_from(c.n).unwrap_or(0) * 100_000 + u64::try_from(c.e).unwrap_or(0)));
                let p = f.properties.as_ref().expect("properties");
                prop_assert_eq!(p.get("lte"), Some(&Value::UInt(u64::from(c.count[0]))));
                prop_assert_eq!(p.get("5g"), Some(&Value::UInt(2)));
                prop_assert!(!p.contains_key("5g_ops"));
                match c.set[0] {
                    Some(s) => {
                        let want: Vec<&str> = ops.iter().filter(|(bit, _)| s & (1 << bit) != 0).map(|(_, id)| id.as_str()).collect();
                        prop_assert_eq!(p.get("lte_ops"), Some(&Value::String(want.join(","))));
                    }
                    None => prop_assert!(!p.contains_key("lte_ops")),
                }
                let poly = match &f.geometry {
                    geo_types::Geometry::Polygon(p) => p.clone(),
                    geo_types::Geometry::MultiPolygon(m) if m.0.len() == 1 => m.0[0].clone(),
                    other => panic!("not one polygon: {other:?}"),
                };
                let ring: Vec<(f32, f32)> = poly.exterior().0.iter().map(|c| (c.x, c.y)).collect();
                prop_assert_eq!(ring.len(), 5, "closed ring of 4 corners: {:?}", ring);
                let area: f32 = ring.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum();
                // mvt-reader flips nothing: tile coordinates, y down.
                prop_assert!(area > 0.0, "exterior ring must have positive area: {:?}", ring);
            }
        }
    }

    #[test]
    fn no_cell_in_the_tile_is_no_tile() {
        let t = tile_over(12, 56_770, 3_400);
        let far = Cell { n: 50_000, e: 3_400, households: 1.0, count: [1, 0], set: [Some(1), Some(0)] };
        assert!(encode_cells(&t, request_rect(&t), &[far], &[]).expect("encodes").is_none());
        assert!(encode_blocks(&t, request_rect(&t), &[]).expect("encodes").is_none());
    }

    #[test]
    fn blocks_carry_their_sums_and_shares() {
        let t = tile_over(9, 56_770, 3_400);
        assert_eq!(block_size(9), 8);
        let rect = request_rect(&t);
        assert!(rect.n0 % 8 == 0 && rect.e1 % 8 == 0);
        let n = (56_770 / 8) * 8;
        let e = (3_400 / 8) * 8;
        let b = Block {
            n, e, size: 8, cells: 64, households: 40.0,
            tech: [BlockTech { households_covered: 30.0, cells_covered: 50, dead: 14, grey: 5 }, BlockTech::default()],
        };
        let fs = decode(encode_blocks(&t, rect, &[b]).expect("encodes").expect("a block"));
        let p = fs[0].properties.as_ref().expect("properties");
        assert_eq!(p.get("block_m"), Some(&Value::UInt(800)));
        assert_eq!(p.get("lte_household_share"), Some(&Value::Double(0.75)));
        assert_eq!(p.get("lte_dead_cells"), Some(&Value::UInt(14)));
        assert_eq!(p.get("5g_household_share"), Some(&Value::Double(0.0)));
        assert!(encode_blocks(&t, rect, &[Block { size: 4, ..b }]).is_err(), "a block of the wrong size is refused");
    }
}
