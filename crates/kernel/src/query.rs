//! `ApiQuery<T>`: axum's query-string extractor with its rejection turned into our error
//! envelope. A value the query's type cannot take (`limit=abc`) is a validation error,
//! 422 with `details.fields.query`, as a wrong value in a JSON body is.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::json::truncate;

pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection_to_error(&rejection)),
        }
    }
}

fn rejection_to_error(rejection: &QueryRejection) -> ApiError {
    // "Failed to deserialize query string: invalid digit found in string": the part
    // after the prefix says what is wrong.
    let text = rejection.body_text();
    let detail = text.split_once(": ").map_or(text.as_str(), |(_, d)| d);
    ApiError::Validation {
        fields: [("query".to_owned(), truncate(detail))].into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    #[derive(Debug, serde::Deserialize)]
    struct Page {
        #[expect(dead_code, reason = "only parsed")]
        limit: Option<u64>,
    }

    async fn parse(uri: &str) -> Result<ApiQuery<Page>, ApiError> {
        let (mut parts, ()) = Request::get(uri).body(()).expect("request").into_parts();
        ApiQuery::<Page>::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn a_value_of_the_wrong_type_is_a_validation_error() {
        assert!(parse("/x?limit=5").await.is_ok());
        let Err(err) = parse("/x?limit=abc").await else {
            panic!("limit=abc parsed")
        };
        assert_eq!(err.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        let (code, _, details) = err.code_message_details();
        assert_eq!(code, "validation_failed");
        assert!(
            details["fields"]["query"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{details}"
        );
    }
}
