//! Server-rendered web pages (no JavaScript needed for any core flow).

use axum::Router;

use super::State;

pub fn routes() -> Router<State> {
    Router::new()
}
