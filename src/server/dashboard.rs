//! The dashboard at `/`: one page and its assets, built into the binary (no CDN).

use actix_web::{web, HttpResponse};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Mounts `/` and `/assets/*`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(INDEX)
        }),
    )
    .route(
        "/assets/app.js",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/javascript; charset=utf-8")
                .body(APP_JS)
        }),
    )
    .route(
        "/assets/app.css",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/css; charset=utf-8")
                .body(APP_CSS)
        }),
    );
}
