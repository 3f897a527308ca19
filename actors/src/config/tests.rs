use super::*;
use crate::breaker::ResetPolicy;
use crate::breakers::DailyLossLimit;
use rust_decimal_macros::dec;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/rustybt"), &HashMap::new())
}

fn problems(text: &str) -> String {
    parse(text).unwrap_err().problems.join("\n")
}

#[test]
fn test_parse_when_minimal_then_moderate_defaults() {
    let c = parse("[[strategy]]\nname = \"m\"\n").unwrap();
    let s = &c.strategies[0];
    assert_eq!(s.breakers.drawdown.as_ref().unwrap().threshold, dec!(-0.10));
    assert_eq!(
        s.breakers.daily_loss.as_ref().unwrap().limit,
        DailyLossLimit::Fraction(dec!(-0.05))
    );
    assert_eq!(s.breakers.order_rate.as_ref().unwrap().max, 100);
    assert_eq!(
        s.breakers.order_rate.as_ref().unwrap().reset,
        ResetPolicy::Auto
    );
    assert_eq!(s.breakers.error_rate.as_ref().unwrap().max, 10);
    assert_eq!(
        s.breakers.error_rate.as_ref().unwrap().reset,
        ResetPolicy::Manual
    );
    assert_eq!(
        c.data_dir,
        PathBuf::from("/etc/rustybt/data"),
        "relative to the config's folder"
    );
    assert_eq!(c.bind, "127.0.0.1:8080");
}

#[test]
fn test_parse_profiles_carry_the_story_numbers() {
    for (p, dd, dl, o, e) in [
        ("conservative", dec!(-0.05), dec!(-0.02), 50, 5),
        ("moderate", dec!(-0.10), dec!(-0.05), 100, 10),
        ("aggressive", dec!(-0.20), dec!(-0.10), 200, 20),
    ] {
        let c = parse(&format!("[[strategy]]\nname = \"s\"\nprofile = \"{p}\"\n")).unwrap();
        let s = &c.strategies[0];
        assert_eq!(s.breakers.drawdown.as_ref().unwrap().threshold, dd, "{p}");
        assert_eq!(
            s.breakers.daily_loss.as_ref().unwrap().limit,
            DailyLossLimit::Fraction(dl),
            "{p}"
        );
        assert_eq!(s.breakers.order_rate.as_ref().unwrap().max, o, "{p}");
        assert_eq!(s.breakers.error_rate.as_ref().unwrap().max, e, "{p}");
    }
}

#[test]
fn test_parse_when_fields_override_profile_then_fields_win() {
    let c = parse(
        r#"
[[strategy]]
name = "s"
profile = "aggressive"
[strategy.circuit_breakers]
drawdown = { threshold = -0.07 }
daily_loss = { limit_amount = "-5000" }
order_rate = { max_orders = 3, window = "1m", reset = "manual" }
error_rate = { enabled = false }
stale_feed = { max_snapshot_age = "2m" }
"#,
    )
    .unwrap();
    let s = &c.strategies[0];
    assert_eq!(
        s.breakers.drawdown.as_ref().unwrap().threshold,
        dec!(-0.07),
        "a TOML number reads as its shortest decimal"
    );
    assert_eq!(
        s.breakers.daily_loss.as_ref().unwrap().limit,
        DailyLossLimit::Amount(dec!(-5000))
    );
    assert_eq!(s.breakers.order_rate.as_ref().unwrap().max, 3);
    assert_eq!(
        s.breakers.order_rate.as_ref().unwrap().reset,
        ResetPolicy::Manual
    );
    assert!(s.breakers.error_rate.is_none());
    assert_eq!(
        s.breakers.stale_feed.as_ref().unwrap().max_snapshot_age,
        chrono::Duration::seconds(120)
    );
}

#[test]
fn test_parse_when_threshold_out_of_range_then_names_field_and_value() {
    let p = problems("[[strategy]]\nname = \"s\"\n[strategy.circuit_breakers]\ndrawdown = { threshold = \"-1.5\" }\n");
    assert!(
        p.contains(
            "strategy[0].circuit_breakers.drawdown.threshold: -1.5 must be a ratio in (-1, 0)"
        ),
        "{p}"
    );
    let p = problems("[[strategy]]\nname = \"s\"\n[strategy.circuit_breakers]\ndrawdown = { threshold = \"0.1\" }\n");
    assert!(p.contains("threshold: 0.1"), "{p}");
}

#[test]
fn test_parse_when_zero_window_then_refused() {
    let p = problems(
        "[[strategy]]\nname = \"s\"\n[strategy.circuit_breakers]\norder_rate = { window = 0 }\n",
    );
    assert!(
        p.contains("strategy[0].circuit_breakers.order_rate.window: 0 s"),
        "{p}"
    );
}

#[test]
fn test_parse_when_unknown_time_zone_then_refused() {
    let p =
        problems("[[strategy]]\nname = \"s\"\n[strategy.market]\ntimezone = \"Mars/Olympus\"\n");
    assert!(
        p.contains("strategy[0].market.timezone: \"Mars/Olympus\""),
        "{p}"
    );
}

#[test]
fn test_parse_when_unknown_key_then_names_it() {
    let p = problems("[[strategy]]\nname = \"s\"\n[strategy.circuit_breakers]\ndrawdwn = { threshold = \"-0.1\" }\n");
    assert!(p.contains("drawdwn"), "{p}");
}

#[test]
fn test_parse_when_several_problems_then_all_reported() {
    let p = problems(
        "[[strategy]]\nname = \"s\"\n[strategy.market]\nopen = \"9h\"\ntimezone = \"Nowhere\"\n[strategy.circuit_breakers]\nerror_rate = { max_errors = 0 }\n",
    );
    assert!(
        p.contains("market.open") && p.contains("market.timezone") && p.contains("max_errors: 0"),
        "{p}"
    );
}

#[test]
fn test_parse_when_secret_in_file_then_refused() {
    let p = problems("[[strategy]]\nname = \"s\"\n[alerts.email]\nsmtp_host = \"h\"\nto = [\"a@b\"]\npassword = \"hunter2\"\n");
    assert!(
        p.contains("alerts.email.password: secrets must not be written"),
        "{p}"
    );
    assert!(!p.contains("hunter2"), "the secret itself is never echoed");
}

#[test]
fn test_parse_when_env_set_then_env_overrides_file() {
    let env: HashMap<String, String> = [
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", "2525"),
        ("ALERT_EMAIL", "a@x.test, b@x.test"),
        ("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let c = Config::parse(
        "[[strategy]]\nname = \"s\"\n[alerts.email]\nsmtp_host = \"smtp.example.com\"\nsmtp_port = 587\nto = [\"z@x.test\"]\n",
        Path::new("."),
        &env,
    )
    .unwrap();
    let e = c.alerts.email.unwrap();
    assert_eq!(e.smtp_host.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.smtp_port, Some(2525));
    assert_eq!(e.to, vec!["a@x.test", "b@x.test"]);
    assert_eq!(
        c.alerts.webhook[0].url.as_deref(),
        Some("http://127.0.0.1:9/hook")
    );
}

#[test]
fn test_parse_when_duplicate_names_then_refused() {
    let p = problems("[[strategy]]\nname = \"s\"\n[[strategy]]\nname = \"s\"\n");
    assert!(p.contains("used twice"), "{p}");
}

#[test]
fn test_example_profiles_parse() {
    // The examples live in the workspace root, beside the binary that ships them.
    for p in ["conservative", "moderate", "aggressive"] {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/config/{p}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        Config::parse(&text, Path::new("."), &HashMap::new())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn test_parse_when_secret_in_unknown_field_then_error_names_line_not_secret() {
    let text = "[alerts.email]\npassword_env = \"hunter2-real-secret\"\n";
    let e = parse(text).unwrap_err();
    let shown = e.to_string();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("line 2"), "{shown}");
}

#[test]
fn test_parse_when_max_clock_skew_given_then_used_and_bad_value_named() {
    let c = parse("[[strategy]]\nname = \"s\"\nmax_clock_skew = \"30s\"\n").unwrap();
    assert_eq!(
        c.strategies[0].max_clock_skew,
        chrono::Duration::seconds(30)
    );
    let p = problems("[[strategy]]\nname = \"s\"\nmax_clock_skew = \"-1\"\n");
    assert!(p.contains("max_clock_skew"), "{p}");
}

#[test]
fn test_parse_when_pre_trade_values_bad_then_each_named_with_its_path() {
    let text = r#"
[[strategy]]
name = "m"
[strategy.market]
always_open = true
close = "16:00"
[strategy.pre_trade]
max_order_quantity = "-1"
price_collar = "1.5"
max_open_orders = 0
max_reference_age = "1 fortnight"
[strategy.pre_trade.assets.AAPL]
max_position = "0"
[strategy.circuit_breakers]
pre_trade = { max_denials = 0 }
host_silent = { timeout = -3 }
"#;
    let e = Config::parse(text, Path::new("."), &HashMap::new()).unwrap_err();
    for want in [
        "strategy[0].pre_trade.max_order_quantity: -1 must be a positive decimal",
        "strategy[0].pre_trade.price_collar: 1.5 must be a fraction in (0, 1)",
        "strategy[0].pre_trade.max_open_orders: 0 must be a whole number",
        "strategy[0].pre_trade.max_reference_age: \"1 fortnight\"",
        "strategy[0].pre_trade.assets.AAPL.max_position: 0 must be a positive decimal",
        "strategy[0].circuit_breakers.pre_trade.max_denials: 0",
        "strategy[0].circuit_breakers.host_silent.timeout: -3 s",
        "strategy[0].market.close: a market with always_open = true has no close",
    ] {
        assert!(
            e.problems.iter().any(|p| p.starts_with(want)),
            "missing {want:?} in {:#?}",
            e.problems
        );
    }
}

#[test]
fn test_parse_when_pre_trade_section_valid_then_overrides_merge_over_strategy_values() {
    let text = r#"
[[strategy]]
name = "m"
[strategy.pre_trade]
max_order_quantity = "1000"
max_order_notional = 50000
price_collar = 0.05
duplicate_order_id = true
[strategy.pre_trade.assets.AAPL]
max_order_quantity = "500"
[strategy.circuit_breakers]
pre_trade = { max_denials = 5, window = "1m" }
host_silent = { timeout = 30 }
"#;
    let c = Config::parse(text, Path::new("."), &HashMap::new()).unwrap();
    let s = &c.strategies[0];
    let l = &s.pre_trade;
    assert_eq!(l.for_asset("AAPL").max_order_quantity, Some(dec!(500)));
    assert_eq!(l.for_asset("AAPL").max_order_notional, Some(dec!(50000)));
    assert_eq!(l.for_asset("MSFT").max_order_quantity, Some(dec!(1000)));
    assert_eq!(l.per_order.price_collar, Some(dec!(0.05)));
    assert_eq!(l.max_reference_age, Some(chrono::Duration::seconds(60)));
    assert!(l.duplicate_order_id);
    let p = s.breakers.pre_trade.as_ref().unwrap();
    assert_eq!((p.max, p.window.num_seconds()), (5, 60));
    assert_eq!(p.reset, ResetPolicy::Manual);
    assert_eq!(
        s.breakers
            .host_silent
            .as_ref()
            .unwrap()
            .timeout
            .num_seconds(),
        30
    );
    // Without the section: no check, neither breaker.
    let c = Config::parse(
        "[[strategy]]\nname = \"m\"\n",
        Path::new("."),
        &HashMap::new(),
    )
    .unwrap();
    assert!(!c.strategies[0].pre_trade.any());
    assert!(
        c.strategies[0].breakers.pre_trade.is_none()
            && c.strategies[0].breakers.host_silent.is_none()
    );
}

#[test]
fn test_parse_when_firm_and_cluster_given_then_desks_breakers_and_bus_read() {
    let env: HashMap<String, String> = [("RUSTYBT_HOST_ID".to_string(), "host-b".to_string())]
        .into_iter()
        .collect();
    let c = Config::parse(
        "[[strategy]]\nname = \"m\"\ndesk = \"equities\"\n\
         [firm]\nname = \"acme\"\n[firm.circuit_breakers]\n\
         drawdown = { threshold = \"-0.08\" }\ndaily_loss = { limit_amount = \"-20000\" }\n\
         order_rate = { max_orders = 500, window = 60 }\n\
         [cluster]\nnats_url = \"nats://127.0.0.1:4222,nats://127.0.0.1:4223\"\nhost_id = \"host-a\"\n\
         lease = 5\non_bus_loss = \"reduce_only\"\n",
        Path::new("/etc/rustybt"),
        &env,
    )
    .unwrap();
    assert_eq!(c.strategies[0].desk.as_deref(), Some("equities"));
    assert_eq!(c.firm.name, "acme");
    assert_eq!(c.firm.breakers.drawdown, Some(dec!(-0.08)));
    assert_eq!(
        c.firm.breakers.daily_loss.as_ref().unwrap().0,
        DailyLossLimit::Amount(dec!(-20000))
    );
    assert_eq!(
        c.firm.breakers.order_rate,
        Some((500, chrono::Duration::seconds(60)))
    );
    let cluster = c.cluster.unwrap();
    assert_eq!(cluster.host_id, "host-b", "the environment wins");
    assert_eq!(cluster.lease, chrono::Duration::seconds(5));
    assert_eq!(cluster.on_bus_loss, BusLossPolicy::ReduceOnly);
}

#[test]
fn test_parse_when_no_firm_or_cluster_then_default_firm_and_no_bus() {
    let c = parse("[[strategy]]\nname = \"m\"\n").unwrap();
    assert_eq!(c.firm.name, "default");
    assert_eq!(c.firm.breakers, Default::default());
    assert!(c.cluster.is_none());
    assert!(c.strategies[0].desk.is_none());
}

#[test]
fn test_parse_when_firm_or_cluster_values_bad_then_each_named_with_its_value() {
    let p = problems(
        "[[strategy]]\nname = \"m\"\ndesk = \"eq uities\"\n\
         [firm]\nname = \"a.b\"\n[firm.circuit_breakers]\ndrawdown = { threshold = \"0.08\" }\n\
         order_rate = { max_orders = 0 }\n\
         [cluster]\nnats_url = \"http://x\"\nhost_id = \"host.a\"\nlease = 0\n",
    );
    for needle in [
        "strategy[0].desk: \"eq uities\"",
        "firm.name: \"a.b\"",
        "firm.circuit_breakers.drawdown.threshold: 0.08",
        "firm.circuit_breakers.order_rate.max_orders: 0",
        "cluster.nats_url: \"http://x\"",
        "cluster.host_id: \"host.a\"",
        "cluster.lease: 0",
    ] {
        assert!(p.contains(needle), "{needle} missing from:\n{p}");
    }
    assert!(problems("[cluster]\nbogus = 1\n[[strategy]]\nname = \"m\"\n").contains("bogus"));
    assert!(problems(
        "[cluster]\nhost_id = \"a\"\non_bus_loss = \"panic\"\n[[strategy]]\nname = \"m\"\n"
    )
    .contains("panic"));
}

#[test]
fn test_firm_daily_loss_when_strategies_trade_in_different_markets_then_firm_market_required() {
    let two = "[[strategy]]\nname = \"ny\"\n\
               [[strategy]]\nname = \"ldn\"\n[strategy.market]\ntimezone = \"Europe/London\"\nopen = \"08:00\"\nclose = \"16:30\"\n\
               [firm.circuit_breakers]\ndaily_loss = { limit_amount = \"-1000\" }\n";
    let p = problems(two);
    assert!(
        p.contains("strategy[0] (ny) and strategy[1] (ldn) trade in different markets")
            && p.contains("[firm.market]"),
        "{p}"
    );
    // The firm's own market settles it, whichever strategy is listed first.
    let c = parse(&format!(
        "{two}[firm.market]\ntimezone = \"Asia/Tokyo\"\nopen = \"09:00\"\nclose = \"15:00\"\n"
    ))
    .unwrap();
    let market = &c.firm.breakers.daily_loss.as_ref().unwrap().1;
    assert_eq!(market.timezone(), chrono_tz::Asia::Tokyo);
    let listed_other_way = parse(
        "[[strategy]]\nname = \"ldn\"\n[strategy.market]\ntimezone = \"Europe/London\"\nopen = \"08:00\"\n\
         [[strategy]]\nname = \"ldn2\"\n[strategy.market]\ntimezone = \"Europe/London\"\nopen = \"08:00\"\n\
         [firm.circuit_breakers]\ndaily_loss = { limit_amount = \"-1000\" }\n",
    )
    .unwrap();
    assert_eq!(
        listed_other_way
            .firm
            .breakers
            .daily_loss
            .unwrap()
            .1
            .timezone(),
        chrono_tz::Europe::London,
        "one shared market needs no [firm.market]"
    );
    assert!(problems(
        "[[strategy]]\nname = \"m\"\n[firm.market]\ntimezone = \"Mars/Olympus\"\n\
         [firm.circuit_breakers]\ndaily_loss = { limit = \"-0.02\" }\n"
    )
    .contains("firm.market.timezone: \"Mars/Olympus\""));
}

#[test]
fn test_reconciliation_section_when_given_then_defaults_fill_in_and_bad_values_named() {
    use crate::settings::AfterCrash;
    let c = parse("[[strategy]]\nname = \"m\"\n").unwrap();
    assert_eq!(c.strategies[0].reconciliation, None);
    let c = parse("[[strategy]]\nname = \"m\"\n[strategy.reconciliation]\n").unwrap();
    let r = c.strategies[0].reconciliation.clone().unwrap();
    assert_eq!(r.grace, chrono::Duration::seconds(10));
    assert_eq!(r.position_tolerance, dec!(0));
    assert_eq!(r.after_crash, AfterCrash::Reconcile, "the safe default");
    let c = parse(
        "[[strategy]]\nname = \"m\"\n[strategy.reconciliation]\nposition_tolerance = \"0.5\"\n\
         grace = \"30s\"\nafter_crash = \"trust_checkpoint\"\n",
    )
    .unwrap();
    let r = c.strategies[0].reconciliation.clone().unwrap();
    assert_eq!(
        (r.position_tolerance, r.grace, r.after_crash),
        (
            dec!(0.5),
            chrono::Duration::seconds(30),
            AfterCrash::TrustCheckpoint
        )
    );
    let p = problems(
        "[[strategy]]\nname = \"m\"\n[strategy.reconciliation]\nposition_tolerance = \"-1\"\ngrace = 0\n",
    );
    assert!(
        p.contains("strategy[0].reconciliation.position_tolerance: -1"),
        "{p}"
    );
    assert!(p.contains("strategy[0].reconciliation.grace: 0"), "{p}");
    let p =
        problems("[[strategy]]\nname = \"m\"\n[strategy.reconciliation]\nafter_crash = \"hope\"\n");
    assert!(p.contains("hope"), "{p}");
}

#[test]
fn test_parse_when_duplicate_window_bad_then_error_names_field_and_value() {
    for (value, want) in [
        (
            "0",
            "strategy[0].pre_trade.duplicate_window: 0 s must be between 1 second and 7 days",
        ),
        (
            "-5",
            "strategy[0].pre_trade.duplicate_window: -5 s must be between 1 second and 7 days",
        ),
        (
            "\"soon\"",
            "strategy[0].pre_trade.duplicate_window: \"soon\" is not a duration",
        ),
        (
            "\"1.5s\"",
            "strategy[0].pre_trade.duplicate_window: \"1.5s\" is not a duration",
        ),
    ] {
        let text = format!(
            "[[strategy]]\nname = \"m\"\n[strategy.pre_trade]\nduplicate_order_id = true\nduplicate_window = {value}\n"
        );
        let e = Config::parse(&text, Path::new("."), &HashMap::new()).unwrap_err();
        assert!(
            e.problems.iter().any(|p| p.starts_with(want)),
            "missing {want:?} in {:#?}",
            e.problems
        );
    }
}

#[test]
fn test_parse_when_duplicate_window_and_close_given_then_read_and_unset_bound_is_default() {
    for (value, secs) in [("3600", 3600), ("\"1h\"", 3600), ("\"90s\"", 90)] {
        let text = format!(
            "[[strategy]]\nname = \"m\"\n[strategy.market]\ntimezone = \"America/New_York\"\nopen = \"09:30\"\nclose = \"16:00\"\n[strategy.pre_trade]\nduplicate_order_id = true\nduplicate_window = {value}\n"
        );
        let c = Config::parse(&text, Path::new("."), &HashMap::new()).unwrap();
        let l = &c.strategies[0].pre_trade;
        assert_eq!(l.duplicate_window, Some(chrono::Duration::seconds(secs)));
        assert_eq!(
            l.open_orders_cap(),
            crate::pretrade::limits::DEFAULT_MAX_OPEN_ORDERS
        );
        assert!(c.strategies[0].market.has_close());
    }
    // Unset: the sessions decide, and no open-order bound was written.
    let c = Config::parse(
        "[[strategy]]\nname = \"m\"\n",
        Path::new("."),
        &HashMap::new(),
    )
    .unwrap();
    assert_eq!(c.strategies[0].pre_trade.duplicate_window, None);
    assert_eq!(c.strategies[0].pre_trade.open_orders_cap(), 100_000);
}
