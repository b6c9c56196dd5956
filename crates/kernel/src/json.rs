//! `ApiJson<T>`: axum's JSON extractor with its rejections turned into our error envelope,
//! so a malformed or mistyped body answers 400/422 in the same shape as every other error.
//!
//! `JsonBody`: a response body serialised once, for answers kept in the hot cache.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde's message names the field and the problem ("missing field `email`").
            let text = e.body_text();
            let detail = text.rsplit_once(": ").map(|(_, d)| d).unwrap_or(&text);
            ApiError::Validation {
                fields: [("body".to_owned(), truncate(detail))].into(),
            }
        }
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::bad_request("malformed_json", "The request body is not valid JSON.")
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::PayloadTooLarge
        }
        other => ApiError::bad_request("bad_body", truncate(&other.body_text())),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A JSON answer serialised once. Kept in the hot cache, a hit costs a reference count
/// instead of a serialisation: for a page of 50 audit events that serialisation was most
/// of the request.
#[derive(Debug, Clone)]
pub struct JsonBody(axum::body::Bytes);

impl JsonBody {
    pub fn new<T: Serialize>(value: &T) -> Result<Self, ApiError> {
        let bytes = serde_json::to_vec(value).map_err(anyhow::Error::from)?;
        Ok(Self(bytes.into()))
    }
}

impl IntoResponse for JsonBody {
    fn into_response(self) -> Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_json_body_answers_like_axum_json() {
        let value = serde_json::json!({"items": [1, 2], "next_cursor": null});
        let ours = JsonBody::new(&value).expect("serialises").into_response();
        let axums = axum::Json(&value).into_response();
        assert_eq!(ours.status(), axums.status());
        assert_eq!(
            ours.headers().get("content-type"),
            axums.headers().get("content-type")
        );
        let ours = axum::body::to_bytes(ours.into_body(), usize::MAX)
            .await
            .expect("body");
        let axums = axum::body::to_bytes(axums.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(ours, axums);
    }
}
