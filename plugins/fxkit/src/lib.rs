//! Helpers shared by the standard effects. Like every plugin, this depends only on
//! `fxchain-plugin-api`; third-party authors may use it the same way.

pub mod border;
pub mod conv;
pub mod fixed;
pub mod noise;
pub mod rows;

pub use border::Border;
