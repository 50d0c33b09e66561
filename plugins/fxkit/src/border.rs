//! How neighbourhood effects read outside the image.

use fxchain_plugin_api::prelude::*;

/// Border handling, a parameter of every neighbourhood effect (`clamp` by default).
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
