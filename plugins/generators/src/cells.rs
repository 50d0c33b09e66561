//! Voronoi cells.

use fxchain_plugin_api::prelude::*;
use fxkit::noise::{hash2, rand2};

use crate::mix;

/// What a Voronoi image shows.
#[derive(ParamEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CellMode {
    /// Each cell in a seeded colour.
    Cells,
    /// Distance to the nearest feature point, `low` → `high`.
    Distance,
    /// Cell borders in `high` over `low`.
    Edges,
}

/// Parameters of `generate.voronoi`.
#[derive(Params)]
pub struct VoronoiParams {
    /// Average cell size in pixels.
    #[param(default = 48.0, range = 2.0..=10000.0, unit = "px")]
    pub cell: f32,
    /// How far feature points move from the grid (0 = a square grid, 1 = fully random).
    #[param(default = 1.0, range = 0.0..=1.0)]
    pub jitter: f32,
    /// "cells", "distance" or "edges".
    #[param(default = "cells")]
    pub mode: CellMode,
    /// Border width for `edges`, in pixels: the same all along every border.
    #[param(default = 2.0, range = 0.1..=100.0, unit = "px")]
    pub edge: f32,
    /// Dark colour (distance 0, and the background of `edges`).
    #[param(default = "#101018")]
    pub low: Color,
    /// Light colour.
    #[param(default = "#f0f0f0")]
    pub high: Color,
}

type Point = (f32, f32);

/// The index in `sites` of the site nearest to `q` (the first of equals) and its distance.
fn nearest(q: Point, sites: &[Point]) -> (usize, f32) {
    let (mut best, mut d1) = (0, f32::MAX);
    for (k, s) in sites.iter().enumerate() {
        let d = (s.0 - q.0).hypot(s.1 - q.1);
        if d < d1 {
            (best, d1) = (k, d);
        }
    }
    (best, d1)
}

/// The distance from `q` to the border of the cell of `sites[k]` (the site nearest to `q`): the
/// distance to the nearest bisector between that site and another one. For sites `s1` (the
/// nearest) and `s2` at distances `d1` and `d2`, the bisector is `(d2² − d1²) / (2·|s2 − s1|)`
/// away, so a border drawn within a distance of it has the same width all along.
fn border_distance(q: Point, sites: &[Point], k: usize) -> f32 {
    let s1 = sites[k];
    let d1 = (s1.0 - q.0).powi(2) + (s1.1 - q.1).powi(2);
    let mut best = f32::MAX;
    for (j, s) in sites.iter().enumerate() {
        let gap = (s.0 - s1.0).hypot(s.1 - s1.1);
        if j == k || gap <= 1e-6 {
            continue;
        }
        let d2 = (s.0 - q.0).powi(2) + (s.1 - q.1).powi(2);
        best = best.min((d2 - d1) / (2.0 * gap));
    }
    best
}

/// Coverage of a border `width` wide at distance `d` from its middle, antialiased over a pixel.
fn border_coverage(width: f32, d: f32) -> f32 {
    (width * 0.5 - d + 0.5).clamp(0.0, 1.0)
}

/// Voronoi diagram (Worley noise) from jittered grid points.
#[derive(Default)]
pub struct Voronoi;
impl Generator for Voronoi {
    const META: Meta = Meta::new("generate.voronoi")
        .summary("Voronoi cells from seeded, jittered feature points: cells, distance or edges.")
        .tests(&[
            Test::new("cells").size(96, 64).params(r#"{"cell": 20.0}"#).hash("03bcfa37c85a3646"),
            Test::new("distance")
                .params(r#"{"cell": 16.0, "jitter": 0.6, "mode": "distance"}"#)
                .hash("ac13d9ca79712bcf"),
            Test::new("edges").params(r#"{"cell": 16.0, "mode": "edges", "edge": 3.0}"#).hash("da90c342c02f48f8"),
        ]);
    type Params = VoronoiParams;
    fn render<P: Pixel>(&self, p: &VoronoiParams, out: &mut Band<'_, P>) {
        let seed = out.seed();
        out.fill_with(|x, y| {
            // The feature point of grid cell (i, j), inside that cell.
            let site = |(i, j): (i64, i64)| -> Point {
                let ox = 0.5 + p.jitter * (rand2(i, j, seed) - 0.5);
                let oy = 0.5 + p.jitter * (rand2(i, j, seed ^ 0xABCD_EF01) - 0.5);
                ((i as f32 + ox) * p.cell, (j as f32 + oy) * p.cell)
            };
            let q = (x as f32 + 0.5, y as f32 + 0.5);
            let (ci, cj) = ((q.0 / p.cell).floor() as i64, (q.1 / p.cell).floor() as i64);
            // The 3×3 grid cells around the pixel, row by row.
            let cells: [(i64, i64); 9] = std::array::from_fn(|k| (ci - 1 + (k % 3) as i64, cj - 1 + (k / 3) as i64));
            let sites = cells.map(site);
            let (k, d1) = nearest(q, &sites);
            match p.mode {
                CellMode::Cells => {
                    let h = hash2(cells[k].0, cells[k].1, seed ^ 0x00C0_10C0);
                    let c = |k: u32| 0.25 + 0.7 * ((h >> (k * 16)) & 0xFFFF) as f32 / 65535.0;
                    RgbaF32::new(c(0), c(1), c(2), 1.0)
                }
                CellMode::Distance => mix(p.low, p.high, (d1 / p.cell).clamp(0.0, 1.0)),
                CellMode::Edges => mix(p.low, p.high, border_coverage(p.edge, border_distance(q, &sites, k))),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(q: Point, sites: &[Point]) -> f32 {
        border_distance(q, sites, nearest(q, sites).0)
    }

    #[test]
    fn the_border_distance_is_the_distance_to_the_bisector() {
        // Two sites on a slant: the bisector passes through their midpoint, normal to s2 − s1.
        let (s1, s2) = ((12.0, 30.0), (50.0, 44.0));
        let (nx, ny) = (s2.0 - s1.0, s2.1 - s1.1);
        let len = f32::hypot(nx, ny);
        let m = ((s1.0 + s2.0) / 2.0, (s1.1 + s2.1) / 2.0);
        for y in 0..64 {
            for x in 0..64 {
                let q = (x as f32 + 0.5, y as f32 + 0.5);
                let want = ((q.0 - m.0) * nx + (q.1 - m.1) * ny).abs() / len;
                let got = distance(q, &[s1, s2]);
                assert!((got - want).abs() < 1e-3, "({x},{y}): {got} vs {want}");
            }
        }
    }

    #[test]
    fn a_border_between_two_sites_has_the_same_width_on_every_row() {
        // The bisector of these sites is the line x = 32, and the rows reach 32 px above and
        // below the sites, where a difference of distances would make the line fan out.
        let sites = [(20.0, 32.0), (44.0, 32.0)];
        for y in 0..64 {
            let cover: Vec<f32> =
                (0..64).map(|x| border_coverage(3.0, distance((x as f32 + 0.5, y as f32 + 0.5), &sites))).collect();
            let inked: Vec<usize> = (0..64).filter(|&x| cover[x] >= 0.5).collect();
            assert_eq!(inked, vec![30, 31, 32, 33], "row {y}");
            let width: f32 = cover.iter().sum();
            assert!((width - 3.0).abs() < 1e-4, "row {y}: width {width}");
        }
    }

    #[test]
    fn near_a_vertex_the_nearest_border_counts_not_the_second_nearest_site() {
        // s2 is the second nearest site to q, but its bisector (x = 2) is 3 px away while the
        // bisector with s3 (y = 20) is 1 px away: the border of q's cell is 1 px away.
        let sites = [(0.0, 0.0), (4.0, 0.0), (0.0, 40.0)];
        let q = (-1.0, 19.0);
        assert_eq!(nearest(q, &sites).0, 0);
        assert!((distance(q, &sites) - 1.0).abs() < 1e-4, "{}", distance(q, &sites));
    }
}
