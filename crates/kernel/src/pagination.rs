//! Cursor pagination over UUIDv7 ids: a cursor is the last id of the previous page, so
//! pages stay stable while rows are added, and every list uses the primary key index.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

pub struct Page {
    pub limit: u64,
    pub after: Option<Uuid>,
}

impl PageParams {
    pub fn parse(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::field("limit", "must be between 1 and 200"));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(
                Uuid::parse_str(c)
                    .map_err(|_| ApiError::field("cursor", "is not a cursor from this API"))?,
            ),
        };
        Ok(Page { limit, after })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// Build a page from up to `limit + 1` rows fetched in order; the extra row only says
    /// that there is a next page.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, cursor_of: impl Fn(&T) -> Uuid) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| cursor_of(r).to_string())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}
