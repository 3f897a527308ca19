//! Reading request bodies the way the contract says; the parser lives in
//! [`rustybt_api::body`], shared with the Python package, and is re-exported here.

pub use rustybt_api::body::{parse, parse_value, DecimalFields};
