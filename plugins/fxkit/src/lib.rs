//! Helpers shared by the standard effects. Like every plugin, this depends only on
//! `fxchain-plugin-api`; third-party authors may use it the same way.

pub mod conv;
pub mod fill;
pub mod fixed;
pub mod half;
pub mod kernels;
pub mod luma;
pub mod noise;
pub mod rows;
pub mod stencil;

/// Border handling lives in the plugin API (with the `border` parameter group); re-exported here
/// so `fxkit::Border` keeps working.
pub use fxchain_plugin_api::Border;
