//! Pre-trade checks: the per-order limits a regulator asks for before an order leaves (SEC
//! Rule 15c3-5, MiFID II RTS 6 Article 15), judged inside the gate's decision on every order.
//!
//! - [`limits`]: what is configured, strategy-wide and per asset.
//! - [`book`]: what the checks judge against: positions (snapshot plus fills since), open
//!   orders from acceptance to full fill or done, reference prices, gross exposure kept as a
//!   running sum so one order costs O(1) whatever the number of assets.
//! - [`journal`]: which changes to open orders reach the checkpoint (the newest per key, and
//!   none for an order opened and closed between two saves).
//! - [`checks`]: the checks themselves and the [`checks::Denial`] that names the check, the
//!   limit and the value.
//!
//! All of it is pure and synchronous: no clock of its own, no I/O.

pub mod book;
pub mod checks;
pub mod journal;
pub mod limits;

pub use book::{DoneStatus, OpenOrder, OrderBook, ReferencePrice};
pub use checks::{Denial, PreTradeCheck};
pub use limits::{AssetLimits, PreTradeLimits};
