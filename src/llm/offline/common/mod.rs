//! Shared pieces of the offline analyzer: the per-alert context ([`Ctx`]), the [`Finding`] every
//! detector returns, metric-series helpers (baseline, change point, growth), text matching and
//! number/time formatting.
//!
//! Everything here is plain string matching and arithmetic: no regex is compiled per call, and
//! nothing panics on odd input (empty series, NaN values, unsorted timestamps, missing fields).

mod ctx;
mod finding;
mod series;
mod text;

pub(crate) use ctx::*;
pub(crate) use finding::*;
pub(crate) use series::*;
pub(crate) use text::*;
