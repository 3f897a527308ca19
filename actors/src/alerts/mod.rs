//! Alerts: what is sent ([`Alert`]), through what ([`AlertChannel`]: [`email`], [`sms`],
//! [`webhook`]), where webhooks may go ([`allowlist`]), how they are signed ([`signing`]), how
//! often ([`rate_limit`]), and what happened to each attempt ([`delivery_log`]).

pub mod allowlist;
pub mod channel;
pub mod delivery_log;
pub mod email;
pub mod rate_limit;
pub mod signing;
pub mod sms;
pub mod webhook;

pub use channel::{Alert, AlertChannel, AlertEventType, DeliveryError};
pub use delivery_log::{DeliveryRecord, DeliveryStatus};
pub use rate_limit::AlertRateLimiter;
