//! Alerts: what is sent ([`Alert`]), through what ([`AlertChannel`]: [`email`], [`sms`],
//! [`webhook`]), where webhooks may go ([`allowlist`]), how they are signed ([`signing`]), how
//! often ([`rate_limit`]), and what happened to each attempt ([`delivery_log`]).

//!
//! The channels themselves (email, SMS, webhooks, and the allow-list and signing they use) sit
//! behind the `channels` cargo feature (on by default): a host that brings its own
//! [`AlertChannel`] can leave out lettre, reqwest and their TLS stacks.

#[cfg(feature = "channels")]
pub mod allowlist;
pub mod channel;
pub mod delivery_log;
#[cfg(feature = "channels")]
pub mod email;
pub mod rate_limit;
#[cfg(feature = "channels")]
pub mod signing;
#[cfg(feature = "channels")]
pub mod sms;
#[cfg(feature = "channels")]
pub mod webhook;

pub use channel::{Alert, AlertChannel, AlertEventType, DeliveryError};
pub use delivery_log::{DeliveryRecord, DeliveryStatus};
pub use rate_limit::AlertRateLimiter;
