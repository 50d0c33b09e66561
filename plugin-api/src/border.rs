//! How neighbourhood effects read outside the image: the `border` parameter group.

use crate::abi::Footprint;
use crate::{ParamEnum, Params};

/// Border handling (`clamp` by default).
#[derive(ParamEnum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Border {
    /// Repeat the edge pixel.
    #[default]
    Clamp,
    /// Reflect around the edge pixel (`dcb|abcd|cba`, OpenCV's `BORDER_REFLECT_101`).
    Mirror,
    /// Tile the image.
    Wrap,
    /// Transparent black outside.
    Transparent,
}

impl Border {
    /// Maps coordinate `i` into `0..n`, or `None` when the border is transparent and `i` is outside.
    #[inline]
    pub fn index(self, i: i64, n: u32) -> Option<usize> {
        let n = n as i64;
        if (0..n).contains(&i) {
            return Some(i as usize);
        }
        match self {
            Border::Clamp => Some(i.clamp(0, n - 1) as usize),
            Border::Wrap => Some(i.rem_euclid(n) as usize),
            Border::Mirror => {
                if n == 1 {
                    return Some(0);
                }
                let period = 2 * (n - 1);
                let m = i.rem_euclid(period);
                Some(if m < n { m } else { period - m } as usize)
            }
            Border::Transparent => None,
        }
    }
}

/// The `border` parameter, shared by every neighbourhood effect: write
/// `#[param(flatten)] pub border: BorderParams` in a parameter struct.
#[derive(Params, Copy, Clone, Debug, Default, PartialEq)]
pub struct BorderParams {
    /// How pixels outside the image are read: `clamp` repeats the edge, `mirror` reflects
    /// around it, `wrap` tiles the image, `transparent` reads transparent black.
    #[param(id = "border")]
    pub mode: Border,
}

impl BorderParams {
    /// The footprint of a kernel reaching `radius` rows above and below.
    pub fn footprint(&self, radius: u32) -> Footprint {
        Footprint::radius(radius, self.mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_inside_are_kept_and_outside_follow_the_mode() {
        for b in [Border::Clamp, Border::Mirror, Border::Wrap, Border::Transparent] {
            assert_eq!((0..5).map(|i| b.index(i, 5)).collect::<Vec<_>>(), (0..5).map(Some).collect::<Vec<_>>());
        }
        assert_eq!(Border::Clamp.index(-3, 5), Some(0));
        assert_eq!(Border::Clamp.index(9, 5), Some(4));
        // dcb|abcd|cba with a = index 0.
        assert_eq!([-3, -2, -1].map(|i| Border::Mirror.index(i, 4)), [Some(3), Some(2), Some(1)]);
        assert_eq!([4, 5, 6].map(|i| Border::Mirror.index(i, 4)), [Some(2), Some(1), Some(0)]);
        assert_eq!(Border::Mirror.index(-7, 1), Some(0));
        assert_eq!([-1, 5, 11].map(|i| Border::Wrap.index(i, 5)), [Some(4), Some(0), Some(1)]);
        assert_eq!(Border::Transparent.index(-1, 5), None);
        assert_eq!(Border::Transparent.index(5, 5), None);
    }

    #[test]
    fn the_group_flattens_into_one_parameter() {
        let schema = BorderParams::schema();
        assert_eq!(schema.len(), 1);
        assert_eq!(schema[0].id, "border");
        assert_eq!(schema[0].choices, vec!["clamp", "mirror", "wrap", "transparent"]);
    }
}
