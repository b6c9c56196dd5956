//! `/api/docs`: renders the OpenAPI document with no network access (no CDN), and the
//! page `/` shows until the web app is built.

pub const PAGE: &str = include_str!("../assets/docs.html");
pub const SCRIPT: &str = include_str!("../assets/docs.js");
pub const HOME: &str = include_str!("../assets/home.html");
