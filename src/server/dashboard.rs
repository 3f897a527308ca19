//! The dashboard at `/`: one page, one script and one style sheet, built into the binary with
//! `include_str!` (no CDN, no external fonts, no build step). The page reads the HTTP API of
//! `API.md` from the same origin: status, audit trail and server-sent events, and posts halts
//! and resets with the operator's bearer token.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};

/// The page.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
/// The page's script (vanilla JavaScript).
pub const APP_JS: &str = include_str!("assets/app.js");
/// The page's style sheet.
pub const APP_CSS: &str = include_str!("assets/app.css");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // The assets change with the binary: always revalidate, never serve a stale page.
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> HttpResponse {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// Mounts `GET /` (the page), `GET /assets/app.js` and `GET /assets/app.css`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/assets/app.js", web::get().to(app_js))
        .route("/assets/app.css", web::get().to(app_css));
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test as web_test, App};
    use std::collections::BTreeSet;

    #[actix_web::test]
    async fn test_get_when_page_or_asset_then_served_with_its_type() {
        let app = web_test::init_service(App::new().configure(configure)).await;
        for (path, ty, needle) in [
            ("/", "text/html", "id=\"halt-button\""),
            ("/assets/app.js", "text/javascript", "EventSource"),
            ("/assets/app.css", "text/css", ".state-MANUALLY_HALTED"),
        ] {
            let res =
                web_test::call_service(&app, web_test::TestRequest::get().uri(path).to_request())
                    .await;
            assert!(res.status().is_success(), "{path}: {}", res.status());
            let got = res
                .headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            assert!(got.starts_with(ty), "{path}: content-type {got}");
            let body = web_test::read_body(res).await;
            let body = std::str::from_utf8(&body).unwrap();
            assert!(body.contains(needle), "{path} lacks {needle}");
        }
        let res = web_test::call_service(
            &app,
            web_test::TestRequest::get()
                .uri("/assets/nope.js")
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 404);
    }

    #[test]
    fn test_page_when_read_then_loads_nothing_from_other_origins() {
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("app.js", APP_JS),
            ("app.css", APP_CSS),
        ] {
            for bad in [
                "http://",
                "https://",
                "//cdn",
                "@import",
                "fonts.googleapis",
            ] {
                assert!(!text.contains(bad), "{name} refers to {bad}");
            }
        }
    }

    /// Every `$("id")` the script looks up exists in the page, so a renamed element fails here
    /// rather than in an operator's browser.
    #[test]
    fn test_script_when_it_looks_up_ids_then_the_page_has_them() {
        let ids: BTreeSet<&str> = INDEX_HTML
            .split("id=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        let wanted: BTreeSet<&str> = APP_JS
            .split("$(\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        assert!(wanted.len() > 20, "the script looks up {wanted:?}");
        let missing: Vec<_> = wanted.difference(&ids).collect();
        assert!(missing.is_empty(), "ids the page lacks: {missing:?}");
        for id in [
            "state",
            "halt-button",
            "halt-operator",
            "halt-reason",
            "halt-confirm",
            "reset-request",
            "reset-confirm",
            "token",
            "strategy-select",
            "chart",
            "positions",
            "orders",
            "fills",
            "errors",
            "error-filter",
            "audit",
            "alerts",
            "tripped",
            "halt-note",
            "pnl-kind",
            "chart-legend",
            "token-help",
            "reset-breakers",
        ] {
            assert!(ids.contains(id), "the page lacks #{id}");
        }
    }
}
