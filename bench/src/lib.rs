//! moat's benchmark suite (see BENCHMARKS.md at the repository root).
//!
//! - [`upstream`]: a fast MCP server (hyper, stateless JSON) the benchmarks call;
//! - [`load`]: an MCP-aware load generator on hyper, closed- and open-loop, HDR histograms;
//! - [`runner`]: `moat-bench run`, which measures the direct path and moat in one run.
//!
//! This is a tool, not a library other crates use: its errors are `anyhow` errors.

pub mod load;
pub mod runner;
pub mod upstream;
