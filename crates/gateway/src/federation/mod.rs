//! Federation: many servers behind one endpoint. Pure functions; the session applies them.

pub(crate) mod initialize;
pub(crate) mod lists;
pub(crate) mod names;
pub(crate) mod param_headers;
