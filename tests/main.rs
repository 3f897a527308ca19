//! The integration tests, in one binary so the support code and the crate are linked once.
//! Names follow `test_<action>_when_<condition>_then_<outcome>`.

mod support;

mod alerts;
mod api;
mod bad_input;
mod cli;
mod cluster_bus;
mod cluster_hosts;
mod crash_soak;
mod dashboard_browser;
mod engine_breakers;
mod engine_lifecycle;
mod firm;
mod load;
mod multi_day_soak;
mod partitions;
mod pre_trade;
mod registry;
mod replay;
mod security;
