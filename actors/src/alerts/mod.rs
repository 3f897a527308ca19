//! Alerts: what is sent ([`Alert`]), through what ([`AlertChannel`]), how often
//! ([`rate_limit`]), and what happened to each attempt ([`delivery_log`]).

pub mod channel;
pub mod delivery_log;
pub mod rate_limit;

pub use channel::{Alert, AlertChannel, AlertEventType, DeliveryError};
pub use delivery_log::{DeliveryRecord, DeliveryStatus};
pub use rate_limit::AlertRateLimiter;
