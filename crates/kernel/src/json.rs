//! `ApiJson<T>`: axum's JSON extractor with its rejections turned into our error envelope,
//! so a malformed or mistyped body answers 400/422 in the same shape as every other error.
//! A body with a NUL character (`\u0000`) anywhere is refused with 422 before it is read:
//! PostgreSQL cannot store one in text or JSON, and no field of ours has a use for it.
//!
//! `JsonBody`: a response body serialised once, for answers kept in the hot cache.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
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
        if !json_content_type(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection_to_error)?;
        if has_nul(&bytes) {
            return Err(ApiError::field(
                "body",
                "must not contain NUL characters (\\u0000)",
            ));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

/// `application/json` or `application/…+json`, as axum's own extractor accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

/// Whether the JSON text holds the escape `\u0000` (a raw NUL is not valid JSON, and
/// serde refuses it). An escaped backslash before `u0000` is text, not an escape: what
/// counts is an odd run of backslashes.
fn has_nul(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in json.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && b == b'u' && json.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

fn bytes_rejection_to_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::bad_request("bad_body", truncate(&rejection.body_text()))
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
        JsonRejection::BytesRejection(e) => bytes_rejection_to_error(e),
        other => ApiError::bad_request("bad_body", truncate(&other.body_text())),
    }
}

/// An error detail cut to a readable length.
pub(crate) fn truncate(s: &str) -> String {
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

    #[test]
    fn a_nul_escape_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(has_nul(br#"{"a\u0000":1}"#));
        assert!(has_nul(br#"{"a":"\\\u0000"}"#), "a backslash, then a NUL");
        assert!(
            !has_nul(br#"{"a":"\\u0000"}"#),
            "a backslash, then the text u0000"
        );
        assert!(!has_nul(br#"{"a":"\u000"#), "cut short");
        assert!(!has_nul(br#"{"a":"\u0001 u0000"}"#));
    }

    #[test]
    fn json_content_types() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().expect("value"));
            json_content_type(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!json_content_type(&HeaderMap::new()));
    }

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
