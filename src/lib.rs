//! rustybt
